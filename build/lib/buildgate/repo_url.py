"""Git repository URLs compared as equals, whatever form they are written in.

The same GitHub repository is written ``https://github.com/Org/Repo``, ``…/Repo.git``,
``…/Repo/``, ``git@github.com:Org/Repo.git``, ``ssh://git@github.com/Org/Repo``,
``ssh://git@ssh.github.com:443/Org/Repo``, ``git://github.com/Org/Repo``,
``git+https://github.com/Org/Repo.git#refs/heads/main`` (SLSA provenance) or
``https://x-access-token:…@github.com/Org/Repo`` (with credentials). :func:`repo_key` maps all
of them to one key, ``github.com/org/repo``: the host in lower case without default ports or
user info, the path without ``.git``, slashes, query, fragment or ``@ref`` suffix. Owner and
repository names are case-insensitive on github.com only (GitHub treats them so); elsewhere
the path keeps its case. A bare ``ORG/REPO`` (the target file's ``github``) means github.com.

Written here because no maintained library normalises git remotes across scp-like SSH and
URL forms (``giturlparse``-style packages are unmaintained and disagree on scp forms).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

# Hosts whose repository paths are case-insensitive.
CASE_INSENSITIVE_HOSTS = frozenset({"github.com"})
# Aliases of a host (GitHub's SSH-over-443 endpoint, the www name).
_HOST_ALIASES = {"ssh.github.com": "github.com", "www.github.com": "github.com"}
_DEFAULT_PORTS = {"https": "443", "http": "80", "ssh": "22", "git": "9418"}
_SCP = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>(?!//)[^\s]*)$")
_SHORT = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def repo_key(url: str) -> str:
    """``host/path`` naming the repository ``url`` points at (``""`` for an empty or unusable URL).

    >>> repo_key("git@github.com:Ardenone/Moltbook-Org.git")
    'github.com/ardenone/moltbook-org'
    """
    u = str(url).strip()
    if not u:
        return ""
    if u.startswith("git+"):
        u = u[4:]
    u = u.split("#", 1)[0]
    if "://" in u:
        try:
            parts = urlsplit(u)
            port = parts.port
        except ValueError:
            return ""
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        path = parts.path
        if port is not None and str(port) != _DEFAULT_PORTS.get(scheme) and not (
                host == "ssh.github.com" and port == 443):
            host = f"{host}:{port}"
    else:
        m = _SCP.match(u)
        if m:
            host, path = m.group("host").lower(), m.group("path")
        elif _SHORT.match(u):  # ORG/REPO
            host, path = "github.com", u
        else:  # github.com/org/repo with no scheme
            host, _, path = u.partition("/")
            host = host.lower()
    host = _HOST_ALIASES.get(host, host)
    path = path.split("?", 1)[0]
    at = path.find("@")  # provenance's …/repo@refs/heads/main
    if at > 0 and "/" in path[:at].strip("/"):
        path = path[:at]
    path = re.sub(r"/+", "/", path).strip("/")
    if path.endswith(".git"):
        path = path[:-4].rstrip("/")
    if host in CASE_INSENSITIVE_HOSTS:
        path = path.lower()
    if not host or not path:
        return ""
    return f"{host}/{path}"


def github_key(github: str) -> str:
    """The key of the target's ``github`` (``ORG/REPO``, or a full URL)."""
    return repo_key(github)


def same_repository(a: str, b: str) -> bool:
    """True when both URLs name the same repository (and neither is empty)."""
    ka = repo_key(a)
    return bool(ka) and ka == repo_key(b)
