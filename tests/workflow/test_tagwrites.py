"""What an update job writes into the kustomization: recognition, rendering, and the W10 defect."""
from __future__ import annotations

import pytest

from buildgate.errors import CannotDecide
from buildgate.workflow.events import push_to
from buildgate.workflow.metadata import compute_tags
from buildgate.workflow.tagwrites import TagWrite, find_step_outputs, find_tag_writes, pieces_text

SHA = "abc1234def5678901234567890abcdef12345678"
EV = push_to("main", SHA)
API = "ghcr.io/ardenone/moltbook-api"
META = ["main", f"main-{SHA[:7]}", "latest"]  # what a metadata step computed; the first is `version`
K = "k8s/kustomization.yml"


@pytest.mark.parametrize(
    "script, kind, image, rendered",
    [
        # git rev-parse --short: not fixed at 7
        (f"cd k8s\nkustomize edit set image {API}={API}:$(git rev-parse --short HEAD)", "git-rev-parse-short",
         API, [SHA[:7], SHA[:8]]),
        (f"SHORT_SHA=$(git rev-parse --short HEAD)\ncd k8s && kustomize edit set image {API}=${{{{ env.X }}}}:$SHORT_SHA",
         "git-rev-parse-short", API, [SHA[:7], SHA[:8]]),  # an unknown newName doesn't matter
        (f"SHORT_SHA=$(git rev-parse --short=10 HEAD)\n(cd k8s; kustomize edit set image {API}:${{SHORT_SHA}})",
         "git-rev-parse-short", API, [SHA[:10]]),
        (f"TAG=`git log -1 --format=%h`\nkustomize edit set image {API}={API}:$TAG", "git-rev-parse-short", API,
         [SHA[:7], SHA[:8]]),
        # full SHA
        (f"kustomize edit set image {API}={API}:${{{{ github.sha }}}}", "github-sha", API, [SHA]),
        (f"kustomize edit set image {API}={API}:$GITHUB_SHA", "github-sha", API, [SHA]),
        (f'SHA="$(git rev-parse HEAD)"\nkustomize edit set image "{API}={API}:$SHA"', "github-sha", API, [SHA]),
        # slices
        (f"kustomize edit set image {API}={API}:${{GITHUB_SHA::7}}", "sha-slice", API, [SHA[:7]]),
        (f"kustomize edit set image {API}={API}:${{GITHUB_SHA:0:8}}", "sha-slice", API, [SHA[:8]]),
        (f"S=$(echo $GITHUB_SHA | cut -c1-7)\nkustomize edit set image {API}={API}:main-$S", "sha-slice", API,
         [f"main-{SHA[:7]}"]),
        (f"S=$(echo ${{{{ github.sha }}}} | head -c 7)\nkustomize edit set image {API}={API}:sha-$S", "sha-slice", API,
         [f"sha-{SHA[:7]}"]),
        # metadata-action outputs
        (f"kustomize edit set image {API}={API}:${{{{ steps.meta.outputs.version }}}}", "metadata-output", API,
         ["main"]),
        (f'TAG="$DOCKER_METADATA_OUTPUT_VERSION"\nkustomize edit set image {API}={API}:$TAG', "metadata-output", API,
         ["main"]),
        # sed
        (f'sed -i "s/newTag: .*/newTag: main-${{GITHUB_SHA::7}}/" {K}', "sha-slice", None, [f"main-{SHA[:7]}"]),
        (f"sed -i 's|newTag:.*|newTag: \"'$(git rev-parse --short HEAD)'\"|' {K}", "git-rev-parse-short", None,
         [SHA[:7], SHA[:8]]),
        (f'TAG=sha-${{GITHUB_SHA:0:7}}\nsed -i -E "/name: ghcr.io\\/ardenone\\/moltbook-api/,/newTag/ s/(newTag: ).*/\\1$TAG/" {K}',
         "sha-slice", API, [f"sha-{SHA[:7]}"]),
        (f'sed -e "s/newTag: old/newTag: v1/" -i {K}', "literal", None, ["v1"]),
        # yq
        (f"yq -i '.images[].newTag = \"${{{{ github.sha }}}}\"' {K}", "github-sha", None, [SHA]),
        (f"export TAG=${{{{ steps.meta.outputs.version }}}}\nyq e -i '(.images[] | select(.name == \"{API}\")).newTag = strenv(TAG)' {K}",
         "metadata-output", API, ["main"]),
        (f"T=$(git rev-parse --short HEAD)\nyq -i '.images[0].newTag = \"'\"$T\"'\"' {K}", "git-rev-parse-short", None,
         [SHA[:7], SHA[:8]]),
        # heredoc
        (f"cat > {K} <<EOF\nimages:\n  - name: {API}\n    newTag: \"$(git rev-parse --short=8 HEAD)\"\nEOF\n",
         "git-rev-parse-short", API, [SHA[:8]]),
        # a literal tag and a branch name
        (f"kustomize edit set image {API}={API}:latest", "literal", API, ["latest"]),
        (f"kustomize edit set image {API}={API}:${{{{ steps.x.outputs.y }}}}", "unknown", API, None),
        (f"kustomize edit set image {API}={API}:${{{{ github.ref_name }}}}-${{GITHUB_SHA::7}}", "sha-slice", API,
         [f"main-{SHA[:7]}"]),
    ],
)
def test_recognised_writes(script, kind, image, rendered):
    (w,) = find_tag_writes(script)
    assert (w.kind, w.image) == (kind, image)
    assert w.line is not None and w.source and w.describe
    if rendered is None:
        with pytest.raises(CannotDecide, match="can't evaluate"):
            w.render(EV, META)
    else:
        assert w.render(EV, META) == rendered


def test_abbrev_len_fixes_git_short_length():
    (w,) = find_tag_writes(f"kustomize edit set image {API}={API}:$(git rev-parse --short HEAD)")
    assert w.render(EV, None, abbrev_len=9) == [SHA[:9]]
    assert "bare `git rev-parse --short HEAD` (length varies, >= 7)" in w.describe


def test_w10_defect_bare_short_sha_vs_metadata_branch_prefix():
    """The real target's mismatch: metadata pushes `main-<sha>`, the job writes a bare short SHA."""
    pushed = [t.tag for t in compute_tags({"tags": "type=sha,prefix={{branch}}-\ntype=raw,value=latest,enable={{is_default_branch}}"}, EV)]
    assert pushed == ["latest", f"main-{SHA[:7]}"]
    bad = find_tag_writes("SHORT_SHA=$(git rev-parse --short HEAD)\n"
                          f"cd k8s && kustomize edit set image {API}={API}:${{SHORT_SHA}}")[0]
    good = find_tag_writes(f"cd k8s && kustomize edit set image {API}={API}:main-${{GITHUB_SHA::7}}")[0]
    assert not set(bad.render(EV, pushed)) & set(pushed)
    assert set(good.render(EV, pushed)) <= set(pushed)
    assert bad.render(EV, pushed) != good.render(EV, pushed)


def test_two_images_and_a_digest():
    script = ("cd k8s\nkustomize edit set image \\\n"
              f"  {API}={API}:${{GITHUB_SHA::7}} \\\n"
              "  ghcr.io/ardenone/moltbook-frontend=ghcr.io/ardenone/moltbook-frontend@sha256:" + "a" * 64)
    w1, w2 = find_tag_writes(script)
    assert (w1.kind, w1.image, w1.line) == ("sha-slice", API, 2)
    assert (w2.kind, w2.image) == ("digest", "ghcr.io/ardenone/moltbook-frontend")
    assert w2.render(EV, META) == []


def test_metadata_tags_output_with_images():
    (w,) = find_tag_writes(f"kustomize edit set image {API}={API}:${{{{ steps.meta.outputs.tags }}}}")
    assert w.render(EV, ["main", "latest"], images=[API]) == [f"{API}:main\n{API}:latest"]
    with pytest.raises(CannotDecide, match="no metadata tags"):
        w.render(EV, [])


def test_env_and_step_outputs_are_followed():
    (w,) = find_tag_writes(f"kustomize edit set image {API}={API}:$TAG", env={"TAG": "sha-${{ github.sha }}"})
    assert w.render(EV, None) == [f"sha-{SHA}"]
    outs = {"needs.build.outputs.tag": "${{ steps.vars.outputs.short }}",
            "steps.vars.outputs.short": "$(git rev-parse --short HEAD)"}
    (w,) = find_tag_writes(f"kustomize edit set image {API}={API}:${{{{ needs.build.outputs.tag }}}}", step_outputs=outs)
    assert w.kind == "git-rev-parse-short"
    (w,) = find_tag_writes(f"kustomize edit set image {API}={API}:${{{{ needs.build.outputs.other }}}}")
    assert w.kind == "unknown" and "needs.build.outputs.other" in w.describe


def test_find_step_outputs_round_trip():
    run = ('echo "short=$(git rev-parse --short HEAD)" >> "$GITHUB_OUTPUT"\n'
           "echo \"TAG=main-${GITHUB_SHA:0:7}\" >> $GITHUB_ENV\n"
           'echo "::set-output name=full::${{ github.sha }}"\n'
           "echo not-an-output\n")
    got = find_step_outputs(run, "vars")
    assert got == {"outputs": {"steps.vars.outputs.short": "$(git rev-parse --short HEAD)",
                               "steps.vars.outputs.full": "${{ github.sha }}"},
                   "env": {"TAG": "main-${GITHUB_SHA::7}"}}
    (w,) = find_tag_writes(f"kustomize edit set image {API}={API}:${{{{ steps.vars.outputs.short }}}}-$TAG",
                           env=got["env"], step_outputs=got["outputs"])
    assert w.render(EV, None, abbrev_len=7) == [f"{SHA[:7]}-main-{SHA[:7]}"]


@pytest.mark.parametrize(
    "script",
    [
        "",
        "echo hello",
        "git add k8s && git commit -m 'update image tags [skip ci]' && git push",
        f"kustomize edit set image {API}={API}",  # newName only: no tag written
        "sed -i 's/foo/bar/' README.md",
        "yq -i '.spec.replicas = 3' k8s/deployment.yml",
        "for i in 1 2 3; do git push && break || { sleep 5; git pull --rebase; }; done",
        'if [[ -z "$X" ]]; then echo $((1 + 2)); fi',
        "echo 'unterminated",
        None,
        "x" * 300_000,
    ],
)
def test_no_write_is_an_empty_list(script):
    assert find_tag_writes(script) == []  # type: ignore[arg-type]


def test_unknown_pieces_name_themselves():
    (w,) = find_tag_writes(f"TAG=$(date +%s)\nkustomize edit set image {API}={API}:$TAG")
    assert w.kind == "unknown"
    with pytest.raises(CannotDecide, match=r"\$\(date \+%s\)"):
        w.render(EV, META)


def test_comments_and_continuations_and_quotes():
    script = ("# kustomize edit set image x=x:commented\n"
              "TAG='literal-$NOT_EXPANDED'\n"
              "kustomize edit set image \\\n"
              f"   '{API}={API}:'\"$TAG\"\n")
    (w,) = find_tag_writes(script)
    assert (w.kind, w.line) == ("literal", 3)
    assert w.render(EV, None) == ["literal-$NOT_EXPANDED"]


def test_template_is_canonical_text():
    (w,) = find_tag_writes(f"kustomize edit set image {API}={API}:main-$(git rev-parse --short HEAD)")
    assert w.template == "main-$(git rev-parse --short HEAD)"
    assert pieces_text(w.pieces) == w.template
    assert isinstance(w, TagWrite) and w.sink == "kustomize edit set image"


_ATOMS = ["kustomize edit set image ", "a=b:", "sed -i ", "s/newTag: .*/newTag: ", "/", "'", '"', "$(", "`", ")",
          "${", "}", "$X", "${{ github.sha }}", "${{", "}}", "\n", "\\", "<<EOF\n", "EOF\n", "newTag: ",
          "yq -i '.newTag = ", "strenv(T)", "|", ";", "&&", "#", "=", "x", "git rev-parse --short HEAD",
          "${GITHUB_SHA::7}", "\x00", "(", "\t", " "]


def test_garbage_never_raises_anything_but_buildgate_errors():
    import random

    from buildgate.errors import BuildgateError

    rnd = random.Random(7)
    for _ in range(400):
        script = "".join(rnd.choice(_ATOMS) for _ in range(rnd.randint(1, 25)))
        for w in find_tag_writes(script):
            try:
                assert isinstance(w.render(EV, META), list)
            except BuildgateError:
                pass
        assert set(find_step_outputs(script, "x")) == {"outputs", "env"}
