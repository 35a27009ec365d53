"""How many HTTP requests G1-G6 cost per image, beside skopeo for the same facts.

Starts the sandbox registry (Debian docker-registry behind the GHCR-like token service), pushes
the sandbox repo's images (podman-built, Buildx-style attestations), then:

* buildgate: one fresh ``RegistryClient`` runs G1-G6 for both images, then runs them again
  (the second round must cost nothing: per-session cache). Counted by the client's
  ``RequestLog`` and cross-checked against the registry's access log and the token service.
* skopeo, per image: ``inspect :latest`` (G1, G6 labels), ``inspect :<sha>`` (G2, G3 digest),
  ``inspect --raw :<sha>`` (the index: G4), ``inspect --raw @<attestation>`` (G4),
  ``copy @<attestation> dir:`` (the provenance, G5: skopeo has no single-blob fetch), and
  ``list-tags``. Counted by the registry's access log and the token service.

Run: ``python benchmarks/registry_requests.py`` (prints a table; exits 1 if buildgate needs
more than 8 requests for an image or repeats one).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from buildgate.oci import RegistryClient  # noqa: E402
from buildgate.oci import checks as g  # noqa: E402
from pytest_buildgate.fixtures.registry_sandbox import SandboxRegistry, push_sandbox_images  # noqa: E402
from pytest_buildgate.fixtures.registry_sandbox.builder import PodmanUnavailable, _private_var_lib  # noqa: E402
from pytest_buildgate.fixtures.sandbox_repo import make_sandbox_repo  # noqa: E402

GOAL = 8


def _settle(lab: SandboxRegistry) -> tuple[int, int]:
    time.sleep(0.3)  # the access log is read by a thread
    return len(lab.registry.access), len(lab.tokens.requests) if lab.tokens else 0


def run_buildgate(lab: SandboxRegistry, repo) -> tuple[dict, int, int, list]:
    images = [i.name for i in repo.target.images]
    tags = repo.tags
    url = f"https://github.com/{repo.target.github}"
    a0, t0 = _settle(lab)
    client = RegistryClient(mirrors=lab.mirrors, timeout=10)
    for _ in range(2):
        for fn in (lambda: g.g1_tag_exists(client, images, "latest"),
                   lambda: g.g2_commit_tags_exist(client, images, tags, repo.built_commit),
                   lambda: g.g3_same_digest(client, images, tags, repo.built_commit),
                   lambda: g.g4_attestations_present(client, images, tags, repo.built_commit),
                   lambda: g.g5_provenance_matches(client, images, tags, repo.built_commit, url),
                   lambda: g.g6_labels_match(client, images, tags, repo.built_commit, url)):
            result = fn()
            if not result.ok:
                raise SystemExit(f"sandbox check failed: {result.message}")
    per = client.requests.per_image()
    repeated = client.requests.repeated()
    client.close()
    a1, t1 = _settle(lab)
    return per, a1 - a0, t1 - t0, repeated


def run_skopeo(lab: SandboxRegistry, repo, image: str) -> tuple[int, int, list[str]]:
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        return -1, -1, ["skopeo not installed"]
    try:
        prefix = _private_var_lib()  # skopeo copy writes a blob-info cache under /var/lib/containers
    except PodmanUnavailable:
        prefix = []
    host = lab.url.split("://", 1)[1]
    repository = image.split("/", 1)[1]
    ref = f"docker://{host}/{repository}"
    sha_tag = g.require_commit_tags(repo.tags[image], repo.built_commit)[0]
    common = ["--tls-verify=false", "--no-creds"]
    a0, t0 = _settle(lab)
    steps = []

    def run(*args: str) -> str:
        steps.append(" ".join(args[:3]))
        proc = subprocess.run([*prefix, skopeo, *args], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise SystemExit(f"skopeo {' '.join(args)} failed: {proc.stderr.strip()[-300:]}")
        return proc.stdout

    run("inspect", *common, f"{ref}:latest")
    run("inspect", *common, f"{ref}:{sha_tag}")
    index = json.loads(run("inspect", "--raw", *common, f"{ref}:{sha_tag}"))
    att = next(m["digest"] for m in index["manifests"]
               if (m.get("annotations") or {}).get("vnd.docker.reference.type") == "attestation-manifest")
    run("inspect", "--raw", *common, f"{ref}@{att}")
    with tempfile.TemporaryDirectory() as out:
        run("copy", "--src-tls-verify=false", "--src-no-creds", f"{ref}@{att}", f"dir:{out}/att")
    run("list-tags", *common, ref)
    a1, t1 = _settle(lab)
    return a1 - a0, t1 - t0, steps


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bg-bench-"))
    try:
        repo = make_sandbox_repo(work / "repo")
        with SandboxRegistry.start(work / "lab") as lab:
            push_sandbox_images(lab, repo)
            per, access, tokens, repeated = run_buildgate(lab, repo)
            print("buildgate G1-G6, both images, two rounds (the second from the cache):")
            print(f"  {'image':40} {'token':>5} {'manifest':>8} {'blob':>5} {'other':>5} {'total':>5}")
            worst = 0
            for image, kinds in per.items():
                c = Counter(kinds)
                total = sum(c.values())
                worst = max(worst, total)
                other = total - c["token"] - c["manifest"] - c["blob"]
                print(f"  {image:40} {c['token']:>5} {c['manifest']:>8} {c['blob']:>5} {other:>5} {total:>5}")
            print(f"  registry access log: {access} requests, token service: {tokens} requests; "
                  f"repeated: {repeated or 'none'}")
            print("skopeo for the same facts (inspect x2, inspect --raw x2, copy attestation, list-tags):")
            for image in per:
                reg, tok, _ = run_skopeo(lab, repo, image)
                print(f"  {image:40} registry {reg:>3} + token {tok:>3} = {reg + tok:>3}")
            ok = worst <= GOAL and not repeated
            print(f"goal: <= {GOAL} requests per image, none repeated: {'met' if ok else 'NOT met'}")
            return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
