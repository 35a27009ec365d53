"""The workflow model: every `on:` form, filters, permissions, needs/if, matrix, builds, and
parse robustness (anchors, quoted keys, huge, binary, invalid, symlink out of the repo)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from buildgate.errors import CannotDecide, InputError
from buildgate.repo import Repo
from buildgate.shell import expanded_commands
from buildgate.target import Target
from buildgate.workflow import checks as wc
from buildgate.workflow import events as E
from buildgate.workflow.events import path_filter_passes
from buildgate.workflow.expressions import PartialDict
from buildgate.workflow.model import Workflow, expand_matrix, load_workflow
from buildgate.yamlfile import YamlDocument, parse_yaml

DATA = Path(__file__).parent / "data"
SHA = "1234567" + "0" * 33
WF = ".github/workflows/build-push.yml"


def git_repo(root: Path, files: dict[str, str | bytes]) -> Repo:
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env, capture_output=True)
    return Repo(root)


def wf_of(name: str) -> Workflow:
    return Workflow(parse_yaml((DATA / name).read_bytes(), f".github/workflows/{name}"))


@pytest.mark.parametrize("name", ["on_string.yml", "on_list.yml", "on_map_nulls.yml"])
def test_every_on_form(name: str) -> None:
    wf = wf_of(name)
    assert wf.problems == []
    assert "push" in wf.triggers
    assert wf.trigger(E.push_to("anything", SHA), ["x"]).ok
    if name != "on_string.yml":
        assert set(wf.triggers) == {"push", "pull_request", "workflow_dispatch"}
        assert wf.trigger(E.pull_request(1, "f", "main", SHA), ["x"]).ok
    else:
        d = wf.trigger(E.pull_request(1, "f", "main", SHA), ["x"])
        assert not d.ok and "no pull_request" in d.reason and d.where == ".github/workflows/on_string.yml:1"


def test_pyyaml_true_key_is_accepted() -> None:
    text = (DATA / "on_list.yml").read_text()
    data = yaml.safe_load(text)
    assert True in data  # PyYAML 1.1 reads `on` as True
    wf = Workflow(YamlDocument("w.yml", (data,)))
    assert set(wf.triggers) == {"push", "pull_request", "workflow_dispatch"}
    assert wf.problems == []


def test_anchors_aliases_and_merge_keys() -> None:
    wf = wf_of("anchors.yml")
    assert wf.triggers["pull_request"].branches == ["main"]
    assert wf.triggers["pull_request"].paths == ["api/**", "moltbook-frontend/**"]
    steps = wf.jobs["a"].steps
    assert [s.action for s in steps] == ["docker/login-action", "docker/login-action"]
    assert steps[1].name == "again"


def test_quoted_keys() -> None:
    wf = wf_of("quoted_keys.yml")
    assert wf.name == "quoted" and wf.triggers["push"].branches == ["main"]
    assert wf.effective_permissions(wf.jobs["build"]).level("packages") == "write"


def test_filters_order_negation_and_paths() -> None:
    wf = wf_of("filters.yml")
    assert wf.trigger(E.push_to("releases/1.0", SHA), ["src/a.py"]).ok
    alpha = wf.trigger(E.push_to("releases/1.0-alpha", SHA), ["src/a.py"])
    assert not alpha.ok and "filtered out by branches" in alpha.reason and alpha.where.endswith(":3")
    assert not wf.trigger(E.push_to("feature", SHA), ["src/a.py"]).ok
    assert wf.trigger(E.push_tag("v1.0", SHA), None).ok  # path filters don't apply to tags
    assert not wf.trigger(E.push_tag("x1.0", SHA), None).ok
    assert not wf.trigger(E.push_to("main", SHA), ["docs/a", "README.md"]).ok  # all ignored
    assert wf.trigger(E.push_to("main", SHA), ["docs/a", "src/x"]).ok
    assert not wf.trigger(E.pull_request(1, "f", "wip/x", SHA), ["api/a"]).ok
    assert wf.trigger(E.pull_request(1, "f", "main", SHA), ["api/a"]).ok
    assert not wf.trigger(E.pull_request(1, "f", "main", SHA), ["api/docs/a"]).ok  # re-excluded
    with pytest.raises(CannotDecide):
        wf.trigger(E.push_to("main", SHA), None)  # path filters, unknown changes


def test_path_globs() -> None:
    assert path_filter_passes(["*.js"], None, ["app.js"])
    assert not path_filter_passes(["*.js"], None, ["src/app.js"])
    assert path_filter_passes(["**.js"], None, ["src/app.js"])
    assert path_filter_passes(["docs/**"], None, ["docs/a/b.md"])
    assert not path_filter_passes(["api/**"], None, ["moltbook-frontend/x"])


def test_semantics_needs_and_cycles() -> None:
    wf = wf_of("cycle.yml")
    msgs = " | ".join(m for m, _ in wf.problems)
    assert "needs unknown job 'ghost'" in msgs and "cycle" in msgs


SAMPLE = """
on:
  push: {branches: [main]}
  pull_request:
  workflow_dispatch:
    inputs:
      publish: {type: boolean, default: false}
permissions: read-all
env:
  REGISTRY: ghcr.io
jobs:
  build:
    runs-on: ubuntu-latest
    permissions: {packages: write}
    strategy:
      matrix:
        svc: [api, web]
        include:
          - svc: web
            ctx: ./moltbook-frontend
          - svc: api
            ctx: ./api
    steps:
      - uses: docker/setup-buildx-action@v3
      - id: b
        uses: docker/build-push-action@v6
        with:
          context: ${{ matrix.ctx }}
          push: ${{ github.event_name == 'push' || inputs.publish }}
          tags: ${{ env.REGISTRY }}/${{ github.repository_owner }}/moltbook-${{ matrix.svc }}:${{ github.sha }}
  shell:
    runs-on: ubuntu-latest
    steps:
      - run: |
          IMG=ghcr.io/ardenone/x
          docker buildx build \\
            --tag "$IMG:${GITHUB_SHA::7}" --push ./x
  after:
    needs: [build]
    if: github.event_name == 'push'
    runs-on: ubuntu-latest
    steps: [{run: echo}]
  always:
    needs: [after]
    if: always()
    runs-on: ubuntu-latest
    steps: [{run: echo}]
  chained:
    needs: [after]
    runs-on: ubuntu-latest
    steps: [{run: echo}]
"""


def test_jobs_if_needs_permissions_and_matrix_builds() -> None:
    wf = Workflow(parse_yaml(SAMPLE, "w.yml"))
    assert wf.problems == []
    push, pr = E.push_to("main", SHA), E.pull_request(1, "f", "main", SHA)
    assert wf.permissions.level("contents") == "read"
    assert wf.effective_permissions(wf.jobs["build"]).level("contents") == "none"  # job replaces workflow
    assert wf.job_runs("after", push).ok and not wf.job_runs("after", pr).ok
    assert wf.job_runs("always", pr).ok  # always() runs after a skipped need
    assert not wf.job_runs("chained", pr).ok  # implicit success() fails after a skipped need
    builds = [b for b in wf.builds(push) if b.kind == "build-push-action"]
    assert [(b.context, b.images) for b in builds] == [
        ("./api", ["ghcr.io/ardenone/moltbook-api"]), ("./moltbook-frontend", ["ghcr.io/ardenone/moltbook-web"])]
    assert all(wf.pushes(b, push).ok for b in builds)
    pr_builds = [b for b in wf.builds(pr) if b.kind == "build-push-action"]
    assert not any(wf.pushes(b, pr).ok for b in pr_builds)
    dispatch = E.workflow_dispatch("main", SHA, {"publish": "true"})
    assert all(wf.pushes(b, dispatch).ok for b in wf.builds(dispatch) if b.kind == "build-push-action")
    shell = [b for b in wf.builds(push) if b.kind == "buildx"]
    assert shell[0].images == ["ghcr.io/ardenone/x"] and shell[0].literal_tags == ["ghcr.io/ardenone/x:1234567"]
    assert wf.build_pushes(shell[0], push).ok


def test_undecidable_if_is_cannot_decide_with_location() -> None:
    wf = Workflow(parse_yaml("on: push\njobs:\n  a:\n    if: vars.WHO == 'me'\n    runs-on: x\n    steps: [{run: echo}]\n", "w.yml"))
    with pytest.raises(CannotDecide) as err:
        wf.job_runs("a", E.push_to("main", SHA))
    assert str(err.value).startswith("w.yml:4: cannot decide")


def test_matrix_computed_at_run_time_is_one_symbolic_leg() -> None:
    """``fromJSON(needs.a.outputs.m)``: one combination whose values are unknown, naming the matrix."""
    (combo,) = expand_matrix("${{ fromJSON(needs.a.outputs.m) }}", "w.yml:9",
                             {"needs": {"a": {"outputs": PartialDict(name="needs.a.outputs")}}})
    from buildgate.workflow import expressions as ex

    v = ex.value("matrix.image", {"matrix": combo}, where="w.yml:20")
    assert isinstance(v, ex.Unknown) and "fromJSON(needs.a.outputs.m)" in v.describe() and "w.yml:9" in v.describe()
    with pytest.raises(CannotDecide):  # invalid JSON that is known is GitHub's error too
        expand_matrix("${{ fromJSON(needs.a.outputs.m) }}", "w.yml:9", {"needs": {}})
    assert expand_matrix({"a": [1, 2], "b": ["x"], "exclude": [{"a": 2}]}, "w", {}) == [{"a": 1, "b": "x"}]


def test_matrix_include_values_are_evaluated() -> None:
    ctx = {"github": {"repository": "acme/shop"}}
    combos = expand_matrix({"include": [{"name": "ghcr.io/${{ github.repository }}/alerter"}]}, "w", ctx)
    assert combos == [{"name": "ghcr.io/acme/shop/alerter"}]


def test_shell_reader_marks_guarded_commands() -> None:
    cmds = expanded_commands('if [ "$X" = y ]; then\n  docker push a\nfi\ntest -n "$Y" && docker push b\ndocker push c\n')
    pushes = [(c.words[-1], c.conditional) for c in cmds if c.words[:2] == ["docker", "push"]]
    assert pushes == [("a", True), ("b", True), ("c", False)]


# -- robustness: each input gets a clear verdict or InputError, never a traceback --------------
def _target(repo: Repo) -> Target:
    return Target(repo_path=repo.root)


def test_invalid_yaml_fails_w2_with_line(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "r", {WF: (DATA / "invalid.yml").read_text()})
    res = wc.w2_valid_workflow(repo, _target(repo))
    assert not res.ok and "invalid YAML" in res.message and f"{WF}:" in res.message
    with pytest.raises(InputError):
        wc.w3_triggers(repo, _target(repo))


def test_binary_file_named_yml(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "r", {WF: b"\x00\x01\x02binary\xff" * 10})
    res = wc.w2_valid_workflow(repo, _target(repo))
    assert not res.ok and "binary" in res.message
    assert wc.w1_workflow_exists(repo, _target(repo)).ok


def test_huge_file_is_input_error(tmp_path: Path) -> None:
    huge = "on: push\njobs:\n" + "".join(f"  j{i}:\n    runs-on: x\n    steps: [{{run: echo {i}}}]\n" for i in range(60000))
    repo = git_repo(tmp_path / "r", {WF: huge})
    with pytest.raises(InputError) as err:
        wc.w4_buildx(repo, _target(repo))
    assert "limit" in str(err.value) and "\n" not in str(err.value)


def test_symlink_outside_the_repo(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yml"
    outside.write_text((DATA / "on_string.yml").read_text())
    repo = git_repo(tmp_path / "r", {"README.md": "x"})
    (repo.root / ".github/workflows").mkdir(parents=True)
    os.symlink(outside, repo.root / WF)
    with pytest.raises(InputError) as err:
        wc.w1_workflow_exists(repo, _target(repo))
    assert "leaves the repository" in str(err.value)
    with pytest.raises(InputError):
        wc.w2_valid_workflow(repo, _target(repo))


def test_not_a_mapping_and_no_on(tmp_path: Path) -> None:
    for text, needle in (("- a\n- b\n", "mapping"), ("jobs:\n  a: {runs-on: x, steps: [{run: x}]}\n", "no `on:`")):
        wf = Workflow(parse_yaml(text, "w.yml"))
        assert any(needle in m for m, _ in wf.problems)


def test_load_workflow_is_cached(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "r", {WF: (DATA / "on_list.yml").read_text()})
    assert load_workflow(repo, WF) is load_workflow(repo, WF)


def test_w4_and_w10_read_a_run_script_the_same_way() -> None:
    """The build (W4's model) and the tag write (W10's tagwrites) come from one reading of the
    script: the same commands on the same lines, however the script is written."""
    from buildgate.workflow.tagwrites import find_tag_writes

    script = ('TAG="$(git rev-parse --short HEAD)"\n'
              'case "$GITHUB_REF" in\n'
              '  refs/heads/main)\n'
              '    docker buildx build --push \\\n'
              '      -t ghcr.io/o/api:"$TAG" ./api\n'
              '    kustomize edit set image ghcr.io/o/api=ghcr.io/o/api:"$TAG"\n'
              '    ;;\n'
              'esac\n')
    cmds = {c.line: c for c in expanded_commands(script)}
    build, write = cmds[4], cmds[6]
    assert build.words == ["docker", "buildx", "build", "--push", "-t", "ghcr.io/o/api:$(git rev-parse --short HEAD)", "./api"]
    assert build.conditional and write.words[:4] == ["kustomize", "edit", "set", "image"]
    (tw,) = find_tag_writes(script)
    assert (tw.line, tw.kind, tw.image) == (6, "git-rev-parse-short", "ghcr.io/o/api")
