"""Reads an nginx snippet into directives the way nginx's own parser does (src/core/ngx_conf_file.c).

The words are what nginx compares and acts on: quotes removed, backslash escapes applied. So a quoted or escaped
directive name (`'alias'`, `"root"`, `ro\\ot`) is read as the directive nginx runs, and a quoted `{`, `;` or `}`
is a word, not punctuation. Each file stands alone, as nginx includes it: its blocks close inside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from ansible_dokku_deploy.errors import DeployError

_SPACE = " \t\r\n"
_ENDS_WORD = _SPACE + ";{"
# The only escapes nginx turns into another character; any other backslash stays in the word as written.
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "t": "\t", "r": "\r", "n": "\n"}
# Blocks whose content nginx hands to the directive itself, not to directives: `types { text/html html; }`.
_ENTRY_BLOCKS = frozenset({"types"})
_SYNTAX_HINT = (
    "Quote a value that holds spaces, `;`, `{` or `}`, close every quote and every `{` in the same file, "
    "and end each directive with `;`."
)


@dataclass(frozen=True)
class Word:
    text: str
    line: int


@dataclass(frozen=True)
class Directive:
    """A directive as nginx reads it: its name and arguments unquoted and unescaped, and the line of its name."""

    name: str
    args: tuple[str, ...]
    line: int


class _End(Enum):
    STATEMENT = ";"
    BLOCK_START = "{"
    BLOCK_DONE = "}"


def read(text: str, where: str) -> Iterator[Directive]:
    """The snippet's directives, each as soon as nginx has read its name and arguments (a block's before its
    content). Where nginx would refuse the syntax, DeployError naming `where` and the line, once the directives
    before it are out."""
    blocks: list[Word] = []
    for end, words, line in _Reader(text, where).statements():
        if end is _End.BLOCK_DONE:
            if not blocks:
                raise _error('unexpected "}": no block is open here', where, line)
            blocks.pop()
            continue
        if blocks and blocks[-1].text in _ENTRY_BLOCKS:
            if end is _End.BLOCK_START:
                raise _error(f'unexpected "{{" inside `{blocks[-1].text}`', where, line)
            continue
        yield Directive(words[0].text, tuple(w.text for w in words[1:]), words[0].line)
        if end is _End.BLOCK_START:
            blocks.append(words[0])
    if blocks:
        raise _error(f"the block of `{blocks[-1].text}` is never closed with }}", where, blocks[-1].line)


def _error(message: str, where: str, line: int) -> DeployError:
    return DeployError(message, where=f"{where}:{line}", hint=_SYNTAX_HINT)


def _unescape(raw: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw) and raw[i + 1] in _ESCAPES:
            out.append(_ESCAPES[raw[i + 1]])
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


class _Reader:
    """ngx_conf_read_token's states, one character at a time."""

    def __init__(self, text: str, where: str) -> None:
        self.text, self.where, self.line = text, where, 1
        self.words: list[Word] = []
        self._reset()

    def _reset(self) -> None:
        self.words = []
        self.need_space = False  # a quoted word just closed: only a space, `;`, `{` or `)` may follow
        self.last_space = True  # between words
        self.comment = False
        self.variable = False  # just after `$`, where `{` belongs to the word (`${name}`)
        self.escaped = False  # just after a backslash: the next character belongs to the word
        self.quote = ""  # the quote the current word opened with
        self.start, self.start_line = 0, 1

    def statements(self) -> Iterator[tuple[_End, list[Word], int]]:
        """Each statement's words and how it ends, with the line nginx is on when it ends."""
        for i, ch in enumerate(self.text):
            if ch == "\n":
                self.line += 1
                self.comment = False
            if self.comment:
                continue
            if self.escaped:
                self.escaped = False
                continue
            end = self._step(i, ch)
            if end is not None:
                yield end, self.words, self.line
                self._reset()
        if self.words or not self.last_space:
            raise _error('unexpected end of file, expecting ";" or "}"', self.where, self.line)

    def _step(self, i: int, ch: str) -> _End | None:
        if self.need_space:
            if ch in _SPACE:
                self.need_space, self.last_space = False, True
                return None
            if ch in ";{":
                return _End(ch)
            if ch != ")":
                raise _error(f'unexpected "{ch}" right after a quoted word', self.where, self.line)
            self.need_space, self.last_space = False, True  # and `)` starts the next word
        return self._between_words(i, ch) if self.last_space else self._in_word(i, ch)

    def _between_words(self, i: int, ch: str) -> _End | None:
        self.start, self.start_line = i, self.line
        if ch in _SPACE:
            return None
        if ch in ";{}":
            if (ch == "}") != (not self.words):
                raise _error(f'unexpected "{ch}"', self.where, self.line)
            return _End(ch)
        self.last_space = ch == "#"
        self.comment = ch == "#"
        self.escaped = ch == "\\"
        self.variable = ch == "$"
        if ch in "\"'":
            self.start, self.quote = i + 1, ch
        return None

    def _in_word(self, i: int, ch: str) -> _End | None:
        if ch == "{" and self.variable:
            return None
        self.variable = ch == "$"
        if ch in "\\$":
            self.escaped = ch == "\\"
            return None
        if self.quote:
            if ch != self.quote:
                return None
            self.quote, self.need_space = "", True
        elif ch in _ENDS_WORD:
            self.last_space = True
        else:
            return None
        self.words.append(Word(_unescape(self.text[self.start : i]), self.start_line))
        return _End(ch) if ch in ";{" else None
