"""Repository URLs compare as equals across https/ssh/scp forms, .git suffixes and GitHub case."""
from __future__ import annotations

import pytest

from buildgate.redact import safe_url
from buildgate.repo_url import repo_key, same_repository

KEY = "github.com/ardenone/moltbook-org"


@pytest.mark.parametrize("url", [
    "https://github.com/ardenone/moltbook-org",
    "https://github.com/ardenone/moltbook-org.git",
    "https://github.com/ardenone/moltbook-org/",
    "https://github.com/ardenone/moltbook-org.git/",
    "https://github.com/Ardenone/Moltbook-Org.git",
    "HTTPS://GitHub.com/ardenone/moltbook-org",
    "http://github.com/ardenone/moltbook-org",
    "https://www.github.com/ardenone/moltbook-org",
    "https://github.com:443/ardenone/moltbook-org",
    "https://x-access-token:ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/ardenone/moltbook-org.git",
    "git@github.com:ardenone/moltbook-org.git",
    "git@github.com:Ardenone/moltbook-org",
    "github.com:ardenone/moltbook-org.git",
    "ssh://git@github.com/ardenone/moltbook-org.git",
    "ssh://git@github.com:22/ardenone/moltbook-org.git",
    "ssh://git@ssh.github.com:443/ardenone/moltbook-org.git",
    "git://github.com/ardenone/moltbook-org.git",
    "git+https://github.com/ardenone/moltbook-org.git@refs/heads/main",
    "git+https://github.com/ardenone/moltbook-org#refs/heads/main",
    "https://github.com/ardenone/moltbook-org?ref=main",
    "  https://github.com/ardenone/moltbook-org  ",
    "ardenone/moltbook-org",
    "github.com/ardenone/moltbook-org",
])
def test_one_repository_in_every_form(url):
    assert repo_key(url) == KEY


@pytest.mark.parametrize("url", [
    "https://github.com/ardenone/moltbook-org-fork",
    "https://github.com/someone/moltbook-org.git",
    "https://gitlab.com/ardenone/moltbook-org.git",
    "git@gitlab.com:ardenone/moltbook-org.git",
    "https://github.com/ardenone",
    "https://github.com/ardenone/moltbook-org/sub",
    "https://github.com:8443/ardenone/moltbook-org",
])
def test_other_repositories_differ(url):
    assert repo_key(url) != KEY
    assert not same_repository(url, "https://github.com/ardenone/moltbook-org")


def test_case_matters_off_github():
    assert repo_key("https://git.example.com/Team/App.git") == "git.example.com/Team/App"
    assert repo_key("git@GIT.example.com:Team/App.git") == "git.example.com/Team/App"
    assert not same_repository("https://git.example.com/Team/App", "https://git.example.com/team/app")


@pytest.mark.parametrize("url", ["", "   ", "https://", "http://[::1", "https://github.com/"])
def test_unusable_urls_name_no_repository(url):
    assert repo_key(url) == ""
    assert not same_repository(url, url)


def test_display_drops_credentials_query_and_fragment():
    shown = safe_url("https://user:s3cr3t-t0ken@github.com/ardenone/moltbook-org.git?x=1#main")
    assert shown == "https://github.com/ardenone/moltbook-org.git"
    assert safe_url("git@github.com:ardenone/moltbook-org.git") == "git@github.com:ardenone/moltbook-org.git"
