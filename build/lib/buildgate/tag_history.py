"""The repository's history behind the kustomization: K2 (newTag names a commit) and K3 (the bot's
tag-update commits, after the update job existed).

Everything here reads git through :class:`buildgate.repo.Repo`, with one ``git log`` per question
rather than one call per commit.
"""
from __future__ import annotations

import datetime as _dt
import posixpath
import re
from dataclasses import dataclass
from typing import Any, Iterable

from buildgate.errors import CannotDecide, InputError
from buildgate.kustomize import ImageOverride, Kustomization
from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.shell import dequote, parse

_HEX = re.compile(r"[0-9a-f]{4,40}")
_PREFIXED = re.compile(r"(?P<prefix>.+?[-_.])(?P<hex>[0-9a-f]{7,40})")
_NEWTAG_LINE = re.compile(r"""^(?:-\s+)?newTag\s*:\s*(?P<value>.*?)\s*$""")
MAX_LISTED = 10


def short(sha: str) -> str:
    return sha[:7]


def when(timestamp: int) -> str:
    return _dt.datetime.fromtimestamp(timestamp, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# -- K2 ----------------------------------------------------------------------------------------
def tag_hex(tag: str) -> tuple[str | None, str | None]:
    """The commit-sha part of an image tag, and a note when it had to be extracted.

    ``abc1234`` and a full 40-hex sha are taken as they are; ``main-abc1234``, ``sha-abc1234``
    (a prefix ending in ``-``, ``_`` or ``.``, then at least 7 hex) give their hex part.
    """
    if _HEX.fullmatch(tag):
        return tag, None
    m = _PREFIXED.fullmatch(tag)
    if m:
        return m["hex"], f"hex part {m['hex']} extracted from {tag!r} (prefix {m['prefix']!r})"
    return None, None


def commits_with_prefix(repo: Repo, hexpart: str) -> list[str]:
    """Every commit object whose id starts with ``hexpart`` (reachable or not)."""
    if len(hexpart) == 40:
        sha = repo.try_rev_parse(hexpart)
        return [sha] if sha == hexpart else []
    out = repo.git("rev-parse", f"--disambiguate={hexpart}", check=False)
    candidates = [line.strip() for line in out.splitlines() if line.strip()]
    if not candidates:
        return []
    typed = repo.git("cat-file", "--batch-check=%(objectname) %(objecttype)",
                     input_bytes=("\n".join(candidates) + "\n").encode())
    return sorted(name for name, _sp, typ in (line.partition(" ") for line in typed.splitlines()) if typ == "commit")


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    subject: str
    author: str
    timestamp: int

    def describe(self) -> str:
        return f"{short(self.sha)} ({when(self.timestamp)}, {self.author}: {self.subject!r})"


def commit_info(repo: Repo, sha: str) -> CommitInfo:
    out = repo.git("show", "-s", "--format=%H%x1f%s%x1f%an%x1f%ct", sha, "--").strip()
    h, subject, author, ts = out.split("\x1f")
    return CommitInfo(h, subject, author, int(ts))


def _is_shallow(repo: Repo) -> bool:
    return repo.git("rev-parse", "--is-shallow-repository", check=False).strip() == "true"


def entry_for(kust: Kustomization, image: str) -> ImageOverride | None:
    entries = kust.entries_for(image)
    return entries[0] if entries else None


def k2_newtags_in_history(repo: Repo, kust: Kustomization, images: Iterable[str]) -> CheckResult:
    """K2: each newTag present for a built image names a commit at or before HEAD.

    Fails for a tag that is no sha, a sha no commit has, or a commit that isn't an ancestor of
    HEAD (another branch, a dangling commit). Only the entries present are judged: an image with
    no newTag is K1's failure (noted in the evidence). An ambiguous short sha or a shallow clone
    missing the commit can't be decided: :class:`CannotDecide`, unless another image already
    fails; so is a kustomization with no newTag for any built image (nothing to judge).
    """
    images = list(images)
    if not images:
        raise CannotDecide("the target names no images to check")
    head = repo.head()
    evidence: list[str] = [f"HEAD is {head[:12]}"]
    failures: list[str] = []
    undecided: list[tuple[str, str]] = []
    missing: list[str] = []
    for image in images:
        e = entry_for(kust, image)
        if e is None or not e.new_tag:
            missing.append(image)
            evidence.append(f"{image}: no newTag in {kust.path}, not judged (K1's failure)")
            continue
        where = e.where_of("newTag")
        tag = e.new_tag
        hexpart, note = tag_hex(tag.lower() if _HEX.fullmatch(tag.lower()) else tag)
        if hexpart is None:
            failures.append(CheckResult.failed(
                f"the newTag of {image} to name a commit (hex sha, or <prefix>-<sha>)",
                f"newTag {tag!r}, which is not a commit sha", where).message)
            continue
        if note:
            evidence.append(f"{image}: {note}")
        candidates = commits_with_prefix(repo, hexpart)
        if len(candidates) > 1:
            undecided.append((f"newTag {tag!r} of {image}: short sha {hexpart} is ambiguous, commits "
                              f"{', '.join(c[:12] for c in candidates)}", where))
            continue
        if not candidates:
            # git skips an object it can't read when it disambiguates: before saying no commit
            # exists, walk every ref's history, so a corrupt object is an error that names it.
            repo.git("rev-list", "--quiet", "--all")
            if _is_shallow(repo):
                undecided.append((f"newTag {tag!r} of {image}: no commit {hexpart} in this shallow clone; "
                                  "fetch the full history", where))
                continue
            failures.append(CheckResult.failed(
                f"the newTag of {image} to name a commit of the repository",
                f"newTag {tag!r}: no commit {hexpart} exists", where).message)
            continue
        info = commit_info(repo, candidates[0])
        if not repo.is_ancestor(info.sha, head):
            branches = repo.git("for-each-ref", "--contains", info.sha, "--format=%(refname:short)",
                                "refs/heads", "refs/remotes", check=False).split()
            on = f" (on {', '.join(branches[:5])})" if branches else " (on no branch)"
            failures.append(CheckResult.failed(
                f"the newTag of {image} to name a commit at or before HEAD {head[:12]}",
                f"commit {info.describe()}, not an ancestor of HEAD{on}", where).message)
            continue
        evidence.append(f"{image}: newTag {tag} ({where}) is commit {info.sha[:12]} "
                        f"({when(info.timestamp)}, {info.subject!r}), an ancestor of HEAD")
    if failures:
        evidence.extend(f"cannot decide: {reason}" for reason, _w in undecided)
        return CheckResult(False, "; ".join(failures), evidence)
    if len(missing) == len(images):
        raise CannotDecide(f"no newTag for any built image in {kust.path} ({', '.join(missing)}), so none to judge "
                           "(see K1)", kust.where("images" if "images" in kust.data else None))
    if undecided:
        reason, where = undecided[0]
        more = f" (and {len(undecided) - 1} more)" if len(undecided) > 1 else ""
        raise CannotDecide(reason + more, where)
    return CheckResult.passed(f"every newTag in {kust.path} names a commit at or before HEAD", evidence)


# -- K3 ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KustomizationChange:
    """One commit touching the kustomization, with the newTag values its diff removed and added."""

    sha: str
    author: str
    email: str
    timestamp: int
    subject: str
    removed: tuple[str, ...]
    added: tuple[str, ...]
    committer: str = ""
    committer_email: str = ""

    @property
    def changes_newtag(self) -> bool:
        return sorted(self.removed) != sorted(self.added)

    def describe(self) -> str:
        return f"{short(self.sha)} {when(self.timestamp)} {self.subject!r}"


def _unquote(value: str) -> str:
    value = re.sub(r"\s+#.*$", "", value).strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value


def kustomization_changes(repo: Repo, path: str) -> list[KustomizationChange]:
    """Commits touching ``path`` reachable from HEAD, newest first: one ``git log -p -U0`` call."""
    out = repo.git("log", "--no-color", "--no-ext-diff", "--no-textconv", "-p", "-U0",
                   "--format=%x1e%H%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%ct%x1f%s", repo.rev or "HEAD", "--", path)
    changes = []
    for record in out.split("\x1e"):
        if not record.strip():
            continue
        header, _nl, diff = record.partition("\n")
        sha, author, email, committer, committer_email, ts, subject = header.split("\x1f", 6)
        removed, added = [], []
        for line in diff.splitlines():
            if line.startswith(("---", "+++")) or not line[:1] in ("-", "+"):
                continue
            m = _NEWTAG_LINE.match(line[1:].strip())
            if m:
                (added if line[0] == "+" else removed).append(_unquote(m["value"]))
        changes.append(KustomizationChange(sha, author, email, int(ts), subject, tuple(removed), tuple(added),
                                           committer, committer_email))
    return changes


@dataclass(frozen=True)
class UpdateJob:
    """Where a workflow job writing the kustomization first appears in history."""

    sha: str
    timestamp: int
    subject: str
    workflow: str
    job: str

    def describe(self) -> str:
        return (f"job {self.job!r} in {self.workflow} writes the kustomization since "
                f"{short(self.sha)} ({when(self.timestamp)}, {self.subject!r})")


_WRITING_ACTIONS = re.compile(r"commit|kustomize|yq|image-tag|update-image", re.I)
_WRITERS = {"yq", "tee"}
_PREFIXES = {"sudo", "env", "command", "exec", "nice", "time"}


def _strings(node: Any) -> Iterable[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def _runs_a_writer(script: str) -> bool:
    """Does a shell script run something that writes files in place (read with buildgate.shell):
    ``sed -i``/``perl -i``, ``yq``, ``kustomize edit``, ``git add``/``git commit``, ``tee``, or a
    redirection into a kustomization file?"""
    for cmd, _ in parse(script).simple_commands():
        for k, tok in enumerate(cmd.tokens):
            if tok.op and tok.text in (">", ">>", ">|") and k + 1 < len(cmd.tokens):
                if "kustomization" in dequote(cmd.tokens[k + 1].text):
                    return True
        argv = [dequote(w) for w in cmd.argv]
        while argv and (argv[0] in _PREFIXES or "=" in argv[0] and not argv[0].startswith("-")):
            argv = argv[1:]
        if not argv:
            continue
        name, args = posixpath.basename(argv[0]), argv[1:]
        if name in _WRITERS:
            return True
        if name in ("sed", "perl") and any(a.startswith("-") and not a.startswith("--") and "i" in a for a in args):
            return True
        if name in ("sed", "gsed") and any(a.startswith("--in-place") for a in args):
            return True
        if name == "kustomize" and args[:1] == ["edit"]:
            return True
        if name == "git" and any(a in ("add", "commit") for a in args[:3]):
            return True
    return False


def job_writes_kustomization(job: Any, kust_path: str) -> bool:
    """Does this job name the kustomization and run something that writes it?

    The job names the path (or runs in its folder and names the file or ``kustomize edit``), and a
    ``run:`` script runs a writer (read with the shell reader: ``sed -i``, ``yq``, ``kustomize
    edit``, ``git add``/``git commit``, ``tee``, a redirection into the file), or a step uses a
    commit/kustomize/image-tag action. Older workflow files are read as plain YAML, so a job of a
    revision whose workflow model would not build is still recognised.
    """
    text = "\n".join(_strings(job))
    folder = posixpath.dirname(kust_path)
    names_path = kust_path in text
    if not names_path:
        in_folder = not folder or any(
            folder in (w.strip("./'\"") for w in s.replace("=", " ").replace(":", " ").split()) for s in _strings(job))
        names_path = bool(in_folder) and (posixpath.basename(kust_path) in text or "kustomize edit" in text)
    if not names_path:
        return False
    steps = job.get("steps") if isinstance(job, dict) else None
    if not isinstance(steps, list):  # a file that isn't YAML: read it whole as a script
        return isinstance(job, str) and _runs_a_writer(job)
    for step in steps:
        if not isinstance(step, dict):
            continue
        uses, run = step.get("uses"), step.get("run")
        if isinstance(uses, str) and _WRITING_ACTIONS.search(uses):
            return True
        if isinstance(run, str) and _runs_a_writer(run):
            return True
    return False


def _workflow_jobs(repo: Repo, rel: str) -> list[tuple[str, Any]]:
    """``(job id, job)`` pairs of a workflow; the whole file as one job ``?`` if it isn't YAML."""
    try:
        data = repo.load_yaml(rel).data
    except InputError:
        try:
            return [("?", repo.read_text(rel))]
        except InputError:
            return []
    jobs = data.get("jobs") if isinstance(data, dict) else None
    if not isinstance(jobs, dict):
        return []
    return [(str(k), v) for k, v in jobs.items()]


def update_job_introduced(repo: Repo, workflows_dir: str, kust_path: str) -> UpdateJob | None:
    """The oldest revision where some workflow under ``workflows_dir`` has a job writing ``kust_path``.

    Walks ``git log --reverse -- <workflows_dir>`` (one call) and reads each revision's workflow
    files with ``repo.at(sha)`` (parsed once per distinct content) until a job matches
    :func:`job_writes_kustomization`, which is a text match on the job, not an execution model.
    """
    out = repo.git("log", "--reverse", "--format=%H%x1f%ct%x1f%s", repo.rev or "HEAD", "--", workflows_dir)
    for line in out.splitlines():
        if not line.strip():
            continue
        sha, ts, subject = line.split("\x1f", 2)
        at = repo.at(sha)
        if not at.is_dir(workflows_dir):
            continue
        for rel in at.list_files(workflows_dir):
            if not rel.endswith((".yml", ".yaml")):
                continue
            for job_id, job in _workflow_jobs(at, rel):
                if job_writes_kustomization(job, kust_path):
                    return UpdateJob(sha, int(ts), subject, rel, job_id)
    return None


_NOREPLY = re.compile(r"(?:\d+\+)?(?P<login>[^@]+)@users\.noreply\.github\.com", re.I)
_WEB_FLOW = "noreply@github.com"   # GitHub's committer for merges and edits made on github.com
BOT_IDENTITY_NOTE = ("the bot is recognised by its author name, e-mail and committer as git records them; "
                     "git does not authenticate these, anyone can write them (signed commits would)")


def is_bot(change: KustomizationChange, bot_authors: Iterable[str]) -> bool:
    """A commit by the bot: its author name is one of ``bot_authors``; an author e-mail in GitHub's
    noreply form names that bot, not another account; and the committer is the bot, the same
    identity as the author, or GitHub itself (a merge on github.com). A commit that only borrows
    the bot's name (a human committing as "github-actions[bot]") is not the bot's."""
    bots = {b.lower() for b in bot_authors}
    if change.author.lower() not in bots:
        return False
    noreply = _NOREPLY.fullmatch(change.email or "")
    if noreply and noreply["login"].lower() not in bots:
        return False
    if not change.committer and not change.committer_email:  # not recorded (older callers)
        return True
    return (change.committer.lower() in bots or change.committer_email.lower() == _WEB_FLOW
            or change.committer_email.lower() == (change.email or "").lower())


def k3_bot_updates(repo: Repo, kust_path: str, workflows_dir: str, bot_authors: Iterable[str]) -> CheckResult:
    """K3: the bot's newTag update commits exist after the update job appeared, and the newest
    newTag change is the bot's.

    Fails when no bot commit changes newTag, when every bot commit predates the job, when no
    workflow ever had such a job, or when the newest newTag change is by someone else (a hand
    edit). A later human commit that touches the file without changing newTag is allowed and
    named in the evidence.
    """
    bot_authors = tuple(bot_authors)
    changes = kustomization_changes(repo, kust_path)
    shallow = _is_shallow(repo)
    if not changes:
        raise CannotDecide(f"no commit reachable from HEAD touches {kust_path}"
                           + ("; this is a shallow clone: fetch the full history" if shallow else ""), kust_path)
    bots = " or ".join(bot_authors)
    bot_updates = [c for c in changes if is_bot(c, bot_authors) and c.changes_newtag]
    borrowed = [c for c in changes if c.author.lower() in {b.lower() for b in bot_authors} and not is_bot(c, bot_authors)]
    evidence = [f"{len(changes)} commit(s) touch {kust_path}; {len(bot_updates)} are newTag updates by {bots}",
                BOT_IDENTITY_NOTE]
    evidence += [f"{c.describe()} carries the bot's name but is authored as {c.email} and committed by "
                 f"{c.committer} <{c.committer_email}>: not counted as the bot's" for c in borrowed[:MAX_LISTED]]
    if shallow and not bot_updates:
        raise CannotDecide(f"no bot newTag update among the {len(changes)} commit(s) of this shallow clone "
                           f"touching {kust_path}; fetch the full history", kust_path)
    if not bot_updates:
        newest = changes[0]
        return CheckResult.failed(
            f"commits by {bots} updating newTag in {kust_path}",
            f"none among {len(changes)} commit(s) (newest {newest.describe()} by {newest.author})",
            kust_path, evidence)
    job = update_job_introduced(repo, workflows_dir, kust_path)
    if job is None and shallow:
        raise CannotDecide(f"no revision of {workflows_dir} in this shallow clone has a job writing {kust_path}; "
                           "fetch the full history", workflows_dir)
    if job is None:
        return CheckResult.failed(
            f"a workflow job under {workflows_dir} writing {kust_path} before the bot's updates",
            f"no revision of {workflows_dir} has one ({len(bot_updates)} bot update(s), newest "
            f"{bot_updates[0].describe()})", workflows_dir, evidence)
    evidence.append(job.describe())
    after_job = set(repo.git("rev-list", "--ancestry-path", f"{job.sha}..{repo.rev or 'HEAD'}").split())
    after = [c for c in bot_updates if c.sha in after_job]
    before = [c for c in bot_updates if c.sha not in after_job]
    if before:
        evidence.append(f"{len(before)} bot update(s) not after the job: " + ", ".join(c.describe() for c in before[:MAX_LISTED]))
    if not after and shallow:
        raise CannotDecide(f"this shallow clone starts at or after the update job's first commit {short(job.sha)}: "
                           "whether the bot's updates came after the job needs the full history", kust_path)
    if not after:
        return CheckResult.failed(
            f"bot newTag updates after the update job appeared in {short(job.sha)} ({when(job.timestamp)})",
            f"{len(bot_updates)} bot update(s), none after it (newest {bot_updates[0].describe()})",
            f"{job.workflow} @ {short(job.sha)}", evidence)
    evidence.append("bot updates: " + "; ".join(c.describe() for c in after[:MAX_LISTED])
                    + (f"; and {len(after) - MAX_LISTED} more" if len(after) > MAX_LISTED else ""))
    newest_tag_change = next(c for c in changes if c.changes_newtag)
    if not is_bot(newest_tag_change, bot_authors):
        c = newest_tag_change
        return CheckResult.failed(
            f"the newest newTag change in {kust_path} to be a bot update",
            f"hand-edited in {short(c.sha)} by {c.author} ({when(c.timestamp)}, {c.subject!r}): "
            f"newTag {', '.join(c.removed) or '-'} -> {', '.join(c.added) or '-'}",
            f"{kust_path} @ {short(c.sha)}", evidence)
    newest_bot = newest_tag_change
    for c in changes:
        if c.sha == newest_bot.sha:
            break
        evidence.append(f"later change {c.describe()} by {c.author} does not change newTag")
    return CheckResult.passed(
        f"{len(after)} bot newTag update(s) in {kust_path} since the update job appeared; the newest is "
        f"{short(newest_bot.sha)} ({when(newest_bot.timestamp)})", evidence)
