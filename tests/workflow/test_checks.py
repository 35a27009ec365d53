"""Single W-checks on small variations of the sandbox workflow (one git repo per case)."""
from __future__ import annotations

from pathlib import Path

import pytest

from buildgate.errors import CannotDecide
from buildgate.target import Target
from buildgate.workflow import checks as wc
from pytest_buildgate.fixtures.sandbox_repo import TEMPLATE
from tests.workflow.test_model import git_repo

WF = ".github/workflows/build-push.yml"
GOOD = (TEMPLATE / WF).read_text()
RETRY = GOOD[GOOD.index("          for attempt in 1 2 3 4 5; do"):GOOD.index('          echo "giving up')]


def run(tmp_path: Path, check, *pairs: tuple[str, str], extra: dict[str, str] | None = None):
    text = GOOD
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    repo = git_repo(tmp_path / "r", {WF: text, "api/Dockerfile": "FROM scratch\n", **(extra or {})})
    return check(repo, Target(repo_path=repo.root))


CASES = [
    ("W2-schema", wc.w2_valid_workflow, [("runs-on: ubuntu-latest\n    permissions:\n      contents: read\n      packages: write",
                                          "runs-on: ubuntu-latest\n    timeout-minutes: soon\n    permissions:\n      contents: read\n      packages: write")],
     "timeout-minutes"),
    ("W2-unknown-need", wc.w2_valid_workflow, [("needs: [build-api, build-frontend]", "needs: [build-api, build-web]")],
     "needs unknown job 'build-web'"),
    ("W4-no-setup-buildx", wc.w4_buildx, [("      - uses: docker/setup-buildx-action@v3\n", "")],
     "docker/setup-buildx-action before the build of ghcr.io/ardenone/moltbook-api"),
    ("W4-wrong-context", wc.w4_buildx, [("context: ./api", "context: ./moltbook-frontend")],
     "a build of ghcr.io/ardenone/moltbook-api from ./api; found ghcr.io/ardenone/moltbook-api built from ./moltbook-frontend"),
    ("W5-login-only-on-tags", wc.w5_push_ghcr, [("        if: github.event_name != 'pull_request'\n        uses: docker/login-action@v3",
                                                 "        if: startsWith(github.ref, 'refs/tags/')\n        uses: docker/login-action@v3")],
     "the ghcr.io login to run on push to main, where ghcr.io/ardenone/moltbook-api is pushed"),
    ("W5-dockerhub-login", wc.w5_push_ghcr, [("registry: ghcr.io", "registry: docker.io")],
     "a login to ghcr.io before the build"),
    ("W7-no-cache-to", wc.w7_gha_cache, [("cache-to: type=gha,mode=max,scope=api", "cache-to: type=inline")],
     "cache-to: type=gha for ghcr.io/ardenone/moltbook-api; found type=inline"),
    ("W8-no-provenance", wc.w8_attestations, [("provenance: mode=max", "provenance: false")],
     "provenance: true or mode=min|max for ghcr.io/ardenone/moltbook-api; found provenance: false"),
    ("W8-no-sbom", wc.w8_attestations, [("sbom: true", "sbom: false")], "sbom: true for"),
    ("W9-unbounded-retry", wc.w9_update_job, [(RETRY, "          until git push origin HEAD:main; do\n            git pull --rebase origin main\n          done\n")],
     "a bounded retry of git push; found `until git push origin HEAD:main; do` has no attempt limit"),
    ("W9-while-true", wc.w9_update_job, [(RETRY, "          while true; do\n            git push origin HEAD:main && break\n            git pull --rebase origin main\n          done\n")],
     "has no attempt limit"),
    ("W9-no-retry", wc.w9_update_job, [(RETRY, "          git push origin HEAD:main\n")],
     "git push retried in a bounded loop on rejection; found a single git push (at .github/workflows/build-push.yml:132)"),
    ("W9-runs-on-pr", wc.w9_update_job, [("if: github.event_name == 'push' && github.ref == 'refs/heads/main'", "if: always()")],
     "job update-kustomization to not run on pull_request"),
    ("W9-needs-one-build", wc.w9_update_job, [("needs: [build-api, build-frontend]", "needs: build-api")],
     "to need the build job(s) build-api, build-frontend; found needs: build-api"),
    ("W9-no-contents-write", wc.w9_update_job, [("      contents: write\n", "      contents: read\n")],
     "contents: write for job update-kustomization; found contents: read"),
]


@pytest.mark.parametrize("name, check, pairs, needle", CASES, ids=[c[0] for c in CASES])
def test_variant_fails_with_message(name: str, check, pairs, needle: str, tmp_path: Path) -> None:
    res = run(tmp_path, check, *pairs)
    assert not res.ok
    assert res.message.startswith("expected ") and "(at " in res.message and "\n" not in res.message
    assert needle in res.message, res.message


def test_bounded_while_with_counter_passes(tmp_path: Path) -> None:
    loop = ("          n=0\n          while [ $n -lt 5 ]; do\n            git push origin HEAD:main && exit 0\n"
            "            n=$((n+1))\n            git pull --rebase origin main\n          done\n")
    res = run(tmp_path, wc.w9_update_job, (RETRY, loop))
    assert res.ok, res.message


API_STEP = GOOD[GOOD.index("      - name: Build and push\n        uses: docker/build-push-action@v6\n        with:\n          context: ./api"):
                GOOD.index("  build-frontend:")]


def test_shell_build_and_push_counts_for_w4_to_w8(tmp_path: Path) -> None:
    shell = ("      - name: Build and push\n        if: github.event_name != 'pull_request'\n        run: |\n"
             "          docker buildx build --push --cache-from type=gha --cache-to type=gha,mode=max \\\n"
             "            --sbom=true --provenance=mode=max -t ghcr.io/ardenone/moltbook-api:${GITHUB_SHA::7} ./api\n\n")
    for check in (wc.w4_buildx, wc.w5_push_ghcr, wc.w7_gha_cache, wc.w8_attestations):
        res = run(tmp_path / check.__name__, check, (API_STEP, shell))
        assert res.ok, (check.__name__, res.message)
    res = run(tmp_path / "classic", wc.w4_buildx, (API_STEP, shell.replace("docker buildx build", "docker build")))
    assert not res.ok and "built with Buildx; found `docker build" in res.message


def test_undecidable_condition_is_an_error_not_a_pass(tmp_path: Path) -> None:
    with pytest.raises(CannotDecide) as err:
        run(tmp_path, wc.w5_push_ghcr, ("push: ${{ github.event_name != 'pull_request' }}", "push: ${{ vars.PUBLISH == 'yes' }}"))
    assert "vars" in str(err.value) and f"{WF}:" in str(err.value)


def test_guarded_shell_push_is_cannot_decide(tmp_path: Path) -> None:
    shell = ("      - name: Build and push\n        run: |\n          docker buildx build --cache-from type=gha --cache-to type=gha "
             "-t ghcr.io/ardenone/moltbook-api:x ./api\n          if [ \"$GITHUB_EVENT_NAME\" = push ]; then\n"
             "            docker push ghcr.io/ardenone/moltbook-api:x\n          fi\n\n")
    with pytest.raises(CannotDecide) as err:
        run(tmp_path, wc.w5_push_ghcr, (API_STEP, shell))
    assert "shell logic" in str(err.value)


def test_ghcr_login_with_a_token_secret_passes_w5(tmp_path: Path) -> None:
    """W5 (revised): GHCR accepts a token secret as well as the workflow token; no packages:
    write is needed then."""
    res = run(tmp_path, wc.w5_push_ghcr, ("password: ${{ secrets.GITHUB_TOKEN }}", "password: ${{ secrets.GHCR_PAT }}"),
              ("      contents: read\n      packages: write\n", "      contents: read\n"))
    assert res.ok, res.message
    assert any("secrets.ghcr_pat" in e for e in res.evidence)
