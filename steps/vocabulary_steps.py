"""The step vocabulary: parametrised steps for a team's own scenarios (``docs/vocabulary.md``).

Each step is one call of :mod:`buildgate.vocabulary` and a ``check``. Values are written in
double quotes and can't contain one. The layer clients come from the context, so a step of a
layer this run doesn't have (no ``registry:`` section, no devpod) skips its scenario with the
reason.
"""
from __future__ import annotations

import re

from pytest_bdd import parsers, then

from buildgate.context import Context
from pytest_buildgate.steps.common import check



class _Vocabulary:
    """:mod:`buildgate.vocabulary`, imported when a step of it first runs (a run of the built-in
    criteria alone never pays for it)."""

    def __getattr__(self, name: str):
        if name.startswith("_"):  # pytest and pytest-bdd look for markers on every module attribute
            raise AttributeError(name)
        from buildgate import vocabulary

        return getattr(vocabulary, name)


v = _Vocabulary()

def _re(pattern: str) -> parsers.re:
    """A step pattern where ``{name}`` is a double-quoted value (which can't hold a quote)."""
    return parsers.re(re.sub(r"\{(\w+)\}", lambda m: f'"(?P<{m[1]}>[^"]+)"', pattern))


# -- workflows -----------------------------------------------------------------------------------
@then(_re('the workflow {path} runs on {event}'))
def _runs_on(ctx: Context, path: str, event: str) -> None:
    check(v.workflow_runs_on(ctx.repo, ctx.target, path, event))


@then(_re('the workflow {path} runs on {event} changing {file}'))
def _runs_on_changing(ctx: Context, path: str, event: str, file: str) -> None:
    check(v.workflow_runs_on(ctx.repo, ctx.target, path, event, [file]))


@then(_re('the workflow {path} does not run on {event}'))
def _does_not_run_on(ctx: Context, path: str, event: str) -> None:
    check(v.workflow_runs_on(ctx.repo, ctx.target, path, event, expect=False))


@then(_re('the workflow {path} does not run on {event} changing {file}'))
def _does_not_run_on_changing(ctx: Context, path: str, event: str, file: str) -> None:
    check(v.workflow_runs_on(ctx.repo, ctx.target, path, event, [file], expect=False))


@then(_re('the workflow {path} builds {image} from {context}'))
def _builds(ctx: Context, path: str, image: str, context: str) -> None:
    check(v.workflow_builds(ctx.repo, ctx.target, path, image, context))


@then(_re('the workflow {path} pushes {image} on {event}'))
def _pushes(ctx: Context, path: str, image: str, event: str) -> None:
    check(v.workflow_pushes(ctx.repo, ctx.target, path, image, event))


@then(_re('the workflow {path} does not push {image} on {event}'))
def _does_not_push(ctx: Context, path: str, image: str, event: str) -> None:
    check(v.workflow_pushes(ctx.repo, ctx.target, path, image, event, expect=False))


@then(_re('the image {image} is pushed on {event}'))
def _image_pushed_on(ctx: Context, image: str, event: str) -> None:
    check(v.pushed_on(ctx.repo, ctx.target, image, event))


@then(_re('every image is pushed on {event}'))
def _every_image_pushed_on(ctx: Context, event: str) -> None:
    check(v.for_every_image(ctx.target, lambda image: v.pushed_on(ctx.repo, ctx.target, image, event),
                            f"pushed on {event}"))


@then(_re('a push to {branch} tags {image} with {tag}'))
def _push_tags(ctx: Context, branch: str, image: str, tag: str) -> None:
    check(v.tagged_with(ctx.repo, ctx.target, f"push to {branch}", image, tag))


@then(_re('a push of the tag {git_tag} tags {image} with {tag}'))
def _tag_push_tags(ctx: Context, git_tag: str, image: str, tag: str) -> None:
    check(v.tagged_with(ctx.repo, ctx.target, f"push of tag {git_tag}", image, tag))


@then(_re('a push to {branch} tags every image with {tag}'))
def _push_tags_every(ctx: Context, branch: str, tag: str) -> None:
    check(v.for_every_image(ctx.target, lambda image: v.tagged_with(ctx.repo, ctx.target, f"push to {branch}",
                                                                      image, tag), f"tagged {tag}"))


@then(_re('a push of the tag {git_tag} tags every image with {tag}'))
def _tag_push_tags_every(ctx: Context, git_tag: str, tag: str) -> None:
    check(v.for_every_image(ctx.target, lambda image: v.tagged_with(ctx.repo, ctx.target, f"push of tag {git_tag}",
                                                                      image, tag), f"tagged {tag}"))


# -- files ---------------------------------------------------------------------------------------
@then(_re('the file {path} exists'))
def _file_exists(ctx: Context, path: str) -> None:
    check(v.file_exists(ctx.repo, path))


@then(_re('the file {path} contains {text}'))
def _file_contains(ctx: Context, path: str, text: str) -> None:
    check(v.file_contains(ctx.repo, path, text))


@then(_re('the file {path} is executable'))
def _file_executable(ctx: Context, path: str) -> None:
    check(v.file_is_executable(ctx.repo, path))


# -- the kustomization ---------------------------------------------------------------------------
@then(_re('the kustomization {path} sets {image} to a commit of the history'))
def _kustomization_commit(ctx: Context, path: str, image: str) -> None:
    check(v.kustomization_sets_commit(ctx.repo, path, image))


# -- the registry --------------------------------------------------------------------------------
@then(_re('the registry has {ref}'))
def _registry_has(ctx: Context, ref: str) -> None:
    check(v.registry_has(ctx.registry, ctx.repo, ref))


@then(_re('{ref} and {other} resolve to the same digest'))
def _same_digest(ctx: Context, ref: str, other: str) -> None:
    check(v.same_digest(ctx.registry, ctx.repo, ref, other))


@then(_re('{ref} carries an SBOM and a provenance'))
def _attested(ctx: Context, ref: str) -> None:
    check(v.attested(ctx.registry, ctx.repo, ref))


# -- the cluster ---------------------------------------------------------------------------------
@then(_re('the Deployment {deployment} runs {image}'))
def _deployment_runs(ctx: Context, deployment: str, image: str) -> None:
    check(v.deployment_runs(ctx.cluster, deployment, image))


# -- the devpod ----------------------------------------------------------------------------------
@then(_re('in the devpod {command} exits (?P<code>[0-9]+)'), converters={"code": int})
def _devpod_exits(ctx: Context, command: str, code: int) -> None:
    check(v.devpod_exits(ctx.devpod, command, code))
