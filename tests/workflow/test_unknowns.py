"""Unknown values as symbols: three-valued conditions, partly known strings and image names,
and the W9 parts adding up to the criterion."""
from __future__ import annotations

from pathlib import Path

import pytest

from buildgate import criteria
from buildgate.errors import CannotDecide
from buildgate.workflow import expressions as ex
from buildgate.workflow.checks import W9_PARTS, w9_update_job
from buildgate.workflow.refs import name_could_be, split_ref

CTX = {"github": {"event_name": "pull_request", "repository_owner": "acme"},
       "steps": ex.PartialDict({"t": {"outputs": ex.PartialDict(name="steps.t.outputs")}}, name="steps")}


@pytest.mark.parametrize("expr, expected", [
    ("github.event_name != 'pull_request' && secrets.X != ''", False),   # false whatever X is
    ("github.event_name == 'pull_request' || secrets.X == 'y'", True),   # true whatever X is
    ("secrets.X == 'y' && false", False),
    ("secrets.X != '' || true", True),
    ("always() || secrets.X", True),
])
def test_a_verdict_the_unknown_cannot_change_is_decided(expr: str, expected: bool) -> None:
    assert ex.condition(expr, CTX, where="w.yml:3") is expected


def test_an_unknown_condition_names_its_origin() -> None:
    got = ex.condition("github.event_name == 'pull_request' && secrets.PUBLISH != ''", CTX, where="w.yml:7")
    assert isinstance(got, ex.Unknown)
    assert got.describe().startswith("`secrets.PUBLISH` in `${{ github.event_name")
    assert "at w.yml:7" in got.describe()
    with pytest.raises(CannotDecide) as err:
        ex.evaluate_condition("secrets.PUBLISH != ''", CTX, where="w.yml:7")
    assert str(err.value).startswith("w.yml:7: cannot decide") and "secrets.PUBLISH" in str(err.value)


def test_partly_known_strings_keep_their_known_pieces() -> None:
    v = ex.interpolate_value("quay.io/${{ github.repository_owner }}/app:${{ steps.t.outputs.tag }}", CTX, where="w.yml:9")
    assert isinstance(v, ex.Unknown) and v.text("?") == "quay.io/acme/app:?"
    ref = split_ref(v)
    assert ref.name == "quay.io/acme/app" and isinstance(ref.tag, ex.Unknown)
    assert ref.tag.origin.what == "steps.t.outputs.tag" and ref.tag.origin.where == "w.yml:9"
    # a known prefix that differs decides a comparison
    assert ex.value("format('ghcr.io/{0}', secrets.X) == 'quay.io/a'", CTX) is False


def test_unknown_names_match_only_the_images_their_known_pieces_fit() -> None:
    name = split_ref(ex.interpolate_value("ghcr.io/acme/${{ secrets.SVC }}", CTX)).name
    assert name_could_be(name, "ghcr.io/acme/api") and not name_could_be(name, "quay.io/acme/api")
    whole = split_ref(ex.value("secrets.IMAGE", CTX)).name
    assert name_could_be(whole, "docker.io/acme/api")
    assert name_could_be("acme/api", "docker.io/acme/api") and not name_could_be("acme/api", "ghcr.io/acme/api")


def test_w9_parts_are_registered_and_add_up_to_the_criterion(tmp_path: Path) -> None:
    from pytest_buildgate.fixtures.sandbox_repo import make_sandbox_repo
    from buildgate.context import Context
    from buildgate.repo import Repo

    assert list(criteria.CRITERIA["W9"].parts) == ["after builds", "push only", "permissions", "commits", "retry"]
    assert list(W9_PARTS) == list(criteria.CRITERIA["W9"].parts)
    sandbox = make_sandbox_repo(tmp_path / "repo")
    repo = Repo(sandbox.path)
    ctx = Context(sandbox.target, repo)
    for part in W9_PARTS:
        assert criteria.run(f"W9.{part}", ctx).ok, part
    whole = criteria.run("W9", ctx)
    assert whole.ok and whole.ok == w9_update_job(repo, sandbox.target).ok
    assert criteria.CRITERIA["W12"].layer == "repo" and list(criteria.CRITERIA)[list(criteria.CRITERIA).index("W11") + 1] == "W12"


@pytest.mark.parametrize("script, pushes", [
    ("docker build -t ghcr.io/acme/api:1 api && docker push ghcr.io/acme/api:1", True),
    ("docker build -t ghcr.io/acme/api:1 api\ndocker push ghcr.io/acme/api:1", True),
    ("docker build -t ghcr.io/acme/api:1 api\n[ -n \"$PUBLISH\" ] && docker push ghcr.io/acme/api:1", None),
    ("docker build -t ghcr.io/acme/api:1 api\nif [ \"$X\" = y ]; then docker push ghcr.io/acme/api:1; fi", None),
])
def test_build_and_push_chained_by_and_is_decided(script: str, pushes) -> None:
    """``build && push`` pushes in a run whose commands succeed; a push behind a test or an if
    depends on shell logic that is not evaluated."""
    from buildgate.workflow import events as E
    from buildgate.workflow.model import Workflow
    from buildgate.yamlfile import parse_yaml

    text = "on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n      - run: |\n" + "".join(
        f"          {line}\n" for line in script.splitlines())
    wf = Workflow(parse_yaml(text, "w.yml"))
    ev = E.push_to("main", "1" * 40)
    (build,) = [b for b in wf.builds(ev) if b.kind == "docker-build"]
    if pushes is None:
        with pytest.raises(CannotDecide, match="shell logic"):
            wf.build_pushes(build, ev)
    else:
        assert wf.build_pushes(build, ev).ok is pushes


@pytest.mark.parametrize(("script", "names"), [
    ('echo "IMAGE=x" >> "$GITHUB_ENV"', {"IMAGE"}),
    ('cat >> "$GITHUB_ENV" <<EOF\nIMAGE=x\nTAG<<D\nv\nD\nEOF\n', {"IMAGE", "TAG"}),
    ('printf "A=%s\\n" 1 >> $GITHUB_ENV\necho "B=2" >> ${GITHUB_ENV}', {"A", "B"}),
    ('echo IMAGE=x | tee -a "$GITHUB_ENV"', None),             # tee: not read
    ('{ echo IMAGE=x; } >> "$GITHUB_ENV"', None),              # a redirected group: not read
    ('echo "$N=1" >> $GITHUB_ENV', None),                      # a computed name
])
def test_env_writes_are_read_with_the_shell_reader_or_make_every_name_unknown(script, names):
    """A write to $GITHUB_ENV that isn't read must not leave a stale value known: every env name
    is then unknown for the later steps."""
    from buildgate.workflow.model import env_writes

    assert env_writes(script) == names
