"""Snippets are read as nginx reads them, and only listed directives pass: proven against the real nginx."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.packaging import nginx_check, snippet_policy
from ansible_dokku_deploy.packaging.nginx_syntax import read

# Real nginx directive names, the dangerous ones first, and the names a snippet may use.
REAL = ("alias", "root", "include", "access_log", "proxy_ssl_certificate", "server_name", "listen", "autoindex")
NAMES = REAL + tuple(sorted(snippet_policy.ALLOWED))
# How nginx names a directive in its verdicts: `unknown directive "X"` (last), `"X" directive is not allowed here`,
# `invalid value "v" in "X" directive`, `directive "X" has no opening "{"`.
_NAMED = re.compile(r'unknown directive "(.*)"$|(?:it: |in )"([^"]*)" directive|directive "([^"]*)"')


def _quoted(draw: st.DrawFn, word: str) -> str:
    """A word written the ways nginx reads back as that word (or, with a stray escape, as another one)."""
    style = draw(st.sampled_from(["bare", "'", '"', "escaped", "broken"]))
    if style == "bare":
        return word
    if style == "escaped":
        return "".join(draw(st.sampled_from([c, "\\" + c])) if c in "\"'\\" else c for c in word)
    if style == "broken":  # a quote or backslash where nginx does not expect one
        at = draw(st.integers(0, len(word)))
        return word[:at] + draw(st.sampled_from(["'", '"', "\\", "\\'", "$", "${", "{", "}", "#"])) + word[at:]
    return style + word.replace("\\", "\\\\").replace(style, "\\" + style) + style


_NOISE = st.sampled_from([" ", "\n", "\t", "# a comment }\n", "é", ";", "{", "}", "'", '"', "\\", "$x", "${y}", "→"])


@st.composite
def snippets(draw: st.DrawFn) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        parts.append(_quoted(draw, draw(st.sampled_from(NAMES))))
        words = st.text("ab/é$;{}' \"\\#", min_size=1, max_size=6)
        parts.extend(_quoted(draw, draw(words)) for _ in range(draw(st.integers(0, 2))))
        parts.append(draw(st.sampled_from([";", ";\n", " {", "}", " { return 204; }\n"])))
        if draw(st.booleans()):
            parts.append(draw(_NOISE))
    return " ".join(parts)


@given(text=snippets())
def test_an_accepted_snippet_holds_only_allowed_directives_as_nginx_reads_it(text: str) -> None:
    problems = snippet_policy.check(text, "nginx.conf.d/x.conf")
    if not problems:
        assert {d.name for d in read(text, "x")} <= snippet_policy.ALLOWED
    assert all(p.where and p.where.startswith("nginx.conf.d/x.conf:") for p in problems)


@settings(max_examples=40)
@given(text=snippets())
def test_nginx_itself_sees_no_directive_the_policy_did_not_allow(
    text: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Whatever the real nginx names in its verdict on an accepted snippet is an allowed directive."""
    if snippet_policy.check(text, "x"):
        return
    snippet = tmp_path_factory.mktemp("nginx") / "x.conf"
    snippet.write_text(text)
    for problem in nginx_check.check([snippet]):
        named = _NAMED.search(problem.message)
        assert named is None or (named[1] or named[2] or named[3]) in snippet_policy.ALLOWED, problem.message


_WORD = st.text("zab;{}#$' \"\\é", min_size=1, max_size=8)


@st.composite
def unknown_directives(draw: st.DrawFn) -> str:
    """A statement whose directive nginx does not know (its name starts with zz), written in hostile ways."""
    name = _quoted(draw, "zz" + draw(_WORD))
    return draw(st.sampled_from(["", "# c\n", "\n\n"])) + name + " " + _quoted(draw, draw(_WORD)) + ";\n"


@settings(max_examples=60)
@given(text=unknown_directives())
def test_the_directive_name_read_is_the_one_nginx_reads(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    snippet = tmp_path_factory.mktemp("nginx") / "x.conf"
    snippet.write_text(text)
    verdicts = [v.message for v in nginx_check.check([snippet])]
    names: list[str] = []
    try:
        names.extend(d.name for d in read(text, "x"))
    except DeployError:  # before the syntax error, nginx meets the directives read so far; with none, no name
        if not names:
            assert verdicts, text
            assert "unknown directive" not in verdicts[0], verdicts
            return
    assert verdicts == ([f'nginx rejects it: unknown directive "{names[0]}"'] if names else []), text


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("location /leak/ { 'alias' /etc/; }", ["location", "alias"]),
        ('"root" /;', ["root"]),
        ('"inc\\lude" x;', ["inc\\lude"]),  # \l is no escape: nginx keeps the backslash
        ("in\\clude x;", ["in\\clude"]),
        ('add_header X "a;b{c}"; gzip on;', ["add_header", "gzip"]),
        ("set $a ${b}x; gzip on;", ["set", "gzip"]),  # `{` right after `$` belongs to the variable's word
        ("set $a x${b; gzip on;", ["set", "gzip"]),  # and so does not open a block
        ("return 200 a}b; # } {\ngzip on;", ["return", "gzip"]),  # an unquoted `}` inside a word is part of it
        ('if ($a = "b") { return 204; }', ["if", "return"]),
        ("types { text/html alias; }", ["types"]),  # a types block holds MIME types, not directives
    ],
)
def test_words_are_read_as_nginx_reads_them(text: str, names: list[str]) -> None:
    assert [d.name for d in read(text, "x")] == names


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("location /x {\n  return 204;\n", 1, "the block of `location` is never closed"),
        ("gzip on;\n}\n", 2, 'unexpected "}"'),
        ("add_header X 'open;\n", 2, "unexpected end of file"),
        ('add_header "X"Y 1;', 1, 'unexpected "Y" right after a quoted word'),
        ("gzip on", 1, "unexpected end of file"),
    ],
)
def test_unbalanced_quotes_and_braces_are_refused_with_the_line(text: str, line: int, message: str) -> None:
    (problem,) = snippet_policy.check(text, "nginx.conf.d/a.conf")
    assert problem.where == f"nginx.conf.d/a.conf:{line}"
    assert message in problem.message


@pytest.mark.parametrize(
    ("text", "app", "accepted"),
    [
        ("location /api/ { proxy_pass http://hello-5000/api/; }", "hello", True),
        ("location /api/ { proxy_pass http://hello-5000; }", "", True),  # before the push, any app's name
        ("location /api/ { proxy_pass http://other-5000; }", "hello", False),
        ("location /api/ { proxy_pass http://hello-8000; }", "hello", False),  # not env.yml's port
        ("location /api/ { proxy_pass https://hello-5000; }", "hello", False),
        ("location /api/ { proxy_pass http://hello-5000:80; }", "hello", False),
        ("location /api/ { proxy_pass http://[::1]:9115; }", "hello", False),
        ("location /api/ { proxy_pass http://localhost:9115; }", "hello", False),
        ("location /api/ { proxy_pass http://0.0.0.0:9115; }", "hello", False),
        ("location /api/ { proxy_pass http://hello-5000$request_uri; }", "hello", False),
        ("location /api/ { grpc_pass grpc://hello-5000; }", "hello", True),
        ("location /api/ { uwsgi_pass hello-5000; }", "hello", False),
        ("location /api/ { fastcgi_pass unix:/run/php.sock; }", "hello", False),
        ("if (-f /etc/shadow) { return 204; }", "hello", False),
        ("set $u 'UNIX:/run/docker.sock';", "hello", False),
    ],
)
def test_pass_reaches_only_the_apps_own_upstream(text: str, app: str, *, accepted: bool) -> None:
    problems = snippet_policy.check(text, "nginx.conf.d/a.conf", app=app, ports=[5000])
    assert (problems == []) is accepted, [p.lines() for p in problems]


def test_the_apps_own_upstream_passes_nginx(tmp_path: Path) -> None:
    snippet = tmp_path / "api.conf"
    snippet.write_text("location /api/ {\n  proxy_pass http://hello-5000/;\n}\n")
    assert nginx_check.check([snippet]) == []


def test_a_typo_names_the_directive_it_is_close_to() -> None:
    (problem,) = snippet_policy.check("gzip_typs text/css;", "nginx.conf.d/a.conf")
    assert problem.lines()[0] == (
        "nginx.conf.d/a.conf:1: directive `gzip_typs` is not allowed in a snippet: "
        "it is not one of the directives a snippet may use"
    )
    assert problem.lines()[1].startswith("Did you mean `gzip_types`? A snippet may use: add_header, ")


def test_the_examples_snippets_pass() -> None:
    for snippet in Path(__file__).parents[2].glob("examples/*/nginx.conf.d/*.conf"):
        assert snippet_policy.check(snippet.read_text(), snippet.name) == [], snippet


def test_the_readme_lists_exactly_the_allowed_directives() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    listed = readme.split("Directives a snippet may use: ", 1)[1].split("\n\n", 1)[0]
    assert set(re.findall(r"`([a-z_]+)`", listed)) == snippet_policy.ALLOWED
