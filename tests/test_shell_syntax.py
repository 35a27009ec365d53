"""The shell package's command tree (buildgate.shell.syntax) and word expansion
(buildgate.shell.words): loops, functions, case arms with their patterns and bodies, if,
groups, guarded commands, and words with known values put in."""
from __future__ import annotations

from buildgate.shell import (Arith, Case, Function, Group, If, Loop, Simple, dequote, expand_known, expanded_commands,
                             parse, references, substitutions)


def _cmds(nodes) -> list[list[str]]:
    return [n.argv for n in nodes if isinstance(n, Simple)]


def _kinds(text: str) -> list[tuple[int, str, int]]:
    """(depth, node type, line) of every node, depth first."""
    return [(len(up), type(n).__name__, n.line) for n, up in parse(text).walk()]


def test_for_loops_have_variable_items_header_and_body():
    tree = parse("for attempt in 1 2 \"$N\"; do\n  git push && break\n  sleep 1\ndone\necho after\n")
    (loop,) = tree.loops()
    assert (loop.kind, loop.variable, [t.text for t in loop.items]) == ("for", "attempt", ["1", "2", '"$N"'])
    assert loop.header == 'for attempt in 1 2 "$N"; do' and (loop.line, loop.end_line) == (1, 4)
    assert _cmds(loop.body) == [["git", "push"], ["break"], ["sleep", "1"]]
    assert [n.argv for n in tree.body if isinstance(n, Simple)] == [["echo", "after"]]
    # `for x; do` (no in: the positional parameters) and `for x do`
    assert parse("for x; do :; done").loops()[0].items is None
    assert _cmds(parse("for x do echo $x; done").loops()[0].body) == [["echo", "$x"]]


def test_while_until_and_c_for_loops():
    (w,) = parse("n=0\nwhile [ $n -lt 5 ]; do\n  n=$((n+1))\ndone\n").loops()
    assert (w.kind, _cmds(w.condition), _cmds(w.body), w.end_line) == ("while", [["[", "$n", "-lt", "5", "]"]], [["n=$((n+1))"]], 4)
    (u,) = parse("until git push origin HEAD:main\ndo\n  git pull --rebase\ndone").loops()
    assert (u.kind, _cmds(u.condition), _cmds(u.body), u.header) == (
        "until", [["git", "push", "origin", "HEAD:main"]], [["git", "pull", "--rebase"]], "until git push origin HEAD:main")
    (c,) = parse("for ((i=1; i<=5; i++)); do\n  if git push; then exit 0; fi\ndone\n").loops()
    assert (c.kind, c.arith, c.variable) == ("c-for", "((i=1; i<=5; i++))", None)
    assert isinstance(c.body[0], If) and _cmds(c.body[0].branches[0].condition) == [["git", "push"]]


def test_nested_loops_and_arithmetic_after_keywords():
    tree = parse("while true; do\n  for f in a b; do echo $f; done\n  if (( n >= 5 )); then exit 1; fi\ndone\n")
    outer, inner = tree.loops()
    assert (outer.kind, inner.kind, inner.line, inner.end_line, outer.end_line) == ("while", "for", 2, 2, 4)
    cond = outer.body[1].branches[0].condition
    assert len(cond) == 1 and isinstance(cond[0], Arith) and cond[0].text == "(( n >= 5 ))"
    assert isinstance(parse("((i++))").body[0], Arith)


def test_case_arms_have_patterns_and_bodies():
    text = ('case "$1" in\n'
            '  --tag) TAG="$2"; shift 2 ;;\n'
            '  (--push|-p)\n    PUSH=1\n    ;;\n'
            '  -*) echo "unknown $1" >&2; exit 1 ;;\n'
            '  *) usage\nesac\n')
    (case,) = parse(text).cases()
    assert (case.subject.text, case.line, case.end_line) == ('"$1"', 1, 8)
    arms = [([p.text for p in a.patterns], _cmds(a.body), a.end, a.line) for a in case.arms]
    assert arms == [
        (["--tag"], [['TAG="$2"'], ["shift", "2"]], ";;", 2),
        (["--push", "-p"], [["PUSH=1"]], ";;", 3),
        (["-*"], [["echo", '"unknown $1"'], ["exit", "1"]], ";;", 6),
        (["*"], [["usage"]], "", 7),
    ]
    # on one line, nested in a loop, and a case inside an arm
    tree = parse("while [ $# -gt 0 ]; do case $1 in a|b) x;; *) case $2 in c) y;; esac;; esac; shift; done")
    outer, inner = tree.cases()
    assert [[p.text for p in a.patterns] for a in outer.arms] == [["a", "b"], ["*"]]
    assert [[p.text for p in a.patterns] for a in inner.arms] == [["c"]] and _cmds(inner.arms[0].body) == [["y"]]
    assert _cmds(tree.loops()[0].body) == [["shift"]]


def test_functions_in_every_form():
    text = ("die() { echo \"$1\" >&2; exit 1; }\n"
            "function build {\n  docker build .\n}\n"
            "function push() {\n  docker push x\n}\n"
            "sub() ( cd x && make )\n"
            "check()\n{\n  if [ -f x ]; then die no; fi\n}\n"
            "die done\n")
    funcs = {f.name: (f.line, f.end_line, type(f.body[0]).__name__) for f in parse(text).functions()}
    assert funcs == {"die": (1, 1, "Group"), "build": (2, 4, "Group"), "push": (5, 7, "Group"),
                     "sub": (8, 8, "Group"), "check": (9, 12, "Group")}
    tree = parse(text)
    assert [n.argv for n in tree.body if isinstance(n, Simple)] == [["die", "done"]]
    assert _cmds(tree.functions()[0].body[0].body) == [["echo", '"$1"'], ["exit", "1"]]


def test_if_branches_and_groups():
    (node,) = parse("if a; then b; elif c; then d; else e; fi").body
    assert isinstance(node, If)
    assert [(_cmds(b.condition), _cmds(b.body)) for b in node.branches] == [([["a"]], [["b"]]), ([["c"]], [["d"]])]
    assert _cmds(node.orelse) == [["e"]]
    group, redirect, sub = parse("{ a; b; } > log\n( c )").body  # redirections after } read on their own
    assert isinstance(redirect, Simple) and redirect.argv == [] and redirect.words == ["log"]
    assert isinstance(group, Group) and group.kind == "{" and _cmds(group.body) == [["a"], ["b"]]
    assert isinstance(sub, Group) and sub.kind == "(" and _cmds(sub.body) == [["c"]]


def test_guarded_commands():
    text = ('docker build .\nif [ "$X" = y ]; then\n  docker push a\nfi\ntest -n "$Y" && docker push b\n'
            "docker push c | tee log\nfalse || { docker push d; }\nfor i in 1; do docker push e; done\n"
            "case $Z in z) docker push f;; esac\nf() { docker push g; }\n")
    got = [(c.argv[-1], g) for c, g in parse(text).simple_commands() if c.argv[:2] == ["docker", "push"]]
    assert got == [("a", True), ("b", True), ("c", False), ("d", True), ("e", True), ("f", True), ("g", False)]


def test_bad_input_never_raises_and_deep_nesting_is_fine():
    for text in ("fi\ndone\nesac\n}\n)\n", "if a; then\n", "case x in a) b", "for", "while", "f() ", "((", "'open"):
        parse(text)
    deep = "if a; then\n" * 3000 + "b\n" + "fi\n" * 3000
    cmds = list(parse(deep).simple_commands())
    assert len(cmds) == 3001 and cmds[-1][0].argv == ["b"] and cmds[-1][1]


def test_argv_leaves_out_redirections():
    (cmd,) = parse("docker build . 2>&1 > log <in --tag x:1 >&2\n").body
    assert cmd.argv == ["docker", "build", ".", "--tag", "x:1"]
    assert cmd.words == ["docker", "build", ".", "2", "1", "log", "in", "--tag", "x:1", "2"]


def test_word_expansion():
    env = {"SHA": "0123456789abcdef", "IMG": "ghcr.io/o/app"}
    assert expand_known('"$IMG:${SHA::7}"', env) == "ghcr.io/o/app:0123456"
    assert expand_known("${SHA:2:3}-${SHA:10}", env) == "234-abcdef"
    assert expand_known("'$IMG'", env) == "$IMG"  # single quotes: no expansion
    assert expand_known("$OTHER:${X:-d}:$(git rev-parse HEAD):$1", env) == "$OTHER:${X:-d}:$(git rev-parse HEAD):$1"
    assert expand_known('a\\ b"c\\"d"', env) == 'a bc"d'
    assert dequote("\"${{ secrets.TOKEN }}\"'x'") == "${{ secrets.TOKEN }}x"
    assert list(references('"$A${B:-c}"$1$(d $E)')) == ["A", "B", "1"]
    assert list(substitutions('x$(git rev-parse HEAD)"`date`"\'$(no)\'')) == ["git rev-parse HEAD", "date"]


def test_expanded_commands_follow_assignments_in_order():
    text = ('IMAGE=ghcr.io/$OWNER/api\nexport TAG="${GITHUB_SHA::7}"\nlocal -r X=1\n'
            'docker build -t "$IMAGE:$TAG" ./api\nTAG=later\nVERSION=2 docker push $IMAGE:$TAG\n')
    got = [(c.words, c.line, c.conditional) for c in expanded_commands(text, {"OWNER": "o", "GITHUB_SHA": "abcdef012345"})]
    assert got == [(["docker", "build", "-t", "ghcr.io/o/api:abcdef0", "./api"], 4, False),
                   (["docker", "push", "ghcr.io/o/api:later"], 6, False)]
    # a $(...) stays one word, as written
    (cmd,) = expanded_commands("docker build -t app:$(git rev-parse --short HEAD) .\n")
    assert cmd.words == ["docker", "build", "-t", "app:$(git rev-parse --short HEAD)", "."]


def test_case_subject_and_patterns_are_no_commands():
    tree = parse("case $1 in\n  build) make;;\nesac\n")
    assert [c.argv for c, _ in tree.simple_commands()] == [["make"]]
    assert isinstance(tree.body[0], Case) and isinstance(parse("f(){ :; }").body[0], Function)
    assert isinstance(parse("for i in 1; do :; done").body[0], Loop)
