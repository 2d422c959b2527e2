"""Build man/PROG.1 for every program from its doc/PROG.md page.

    python scripts/mkman.py          # writes man/*.1
    python scripts/mkman.py --check  # exit 1 if a page is out of date

The doc pages are the one source: the man pages are made from them, so
the two never drift (tests/test_layout.py checks that the committed pages
are what this makes).  The Markdown used in doc/ is small: headings,
paragraphs, '-' lists, tables, indented or fenced code, `code`, **bold**
and [links](...); that is all this converts.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from netchain import TABLE, __version__  # noqa: E402  (after the path is set)


def _escape(text):
    return text.replace("\\", "\\e").replace("-", "\\-")


def _inline(text):
    """`code` and **bold** to bold, [text](link) to text, escapes."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    parts = re.split(r"(`[^`]*`|\*\*[^*]*\*\*)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append("\\fB" + _escape(part[1:-1]) + "\\fR")
        elif part.startswith("**") and part.endswith("**") and len(part) > 3:
            out.append("\\fB" + _escape(part[2:-2]) + "\\fR")
        else:
            out.append(_escape(part))
    return "".join(out)


def _line(text):
    """A roff text line: one starting with '.' or "'" is protected."""
    return "\\&" + text if text.startswith((".", "'")) else text


_ITEM = re.compile(r"(- |\d+\. )")


def _blocks(lines):
    """(kind, lines) blocks of a Markdown page: code, heading, list, table, text."""
    index, blocks = 0, []
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
        elif line.startswith("```"):
            end = next((i for i in range(index + 1, len(lines)) if lines[i].startswith("```")), len(lines))
            blocks.append(("code", lines[index + 1:end]))
            index = end + 1
        elif line.startswith("    "):
            end = index
            while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
                end += 1
            blocks.append(("code", [text[4:] for text in lines[index:end]]))
            index = end
        else:
            kind = ("heading" if line.startswith("#") else "list" if _ITEM.match(line)
                    else "table" if line.startswith("|") else "text")
            end = index + 1
            while (end < len(lines) and lines[end].strip() and kind != "heading"
                   and not lines[end].startswith(("#", "```", "    ") if kind != "list" else ("#", "```"))
                   and (kind == "table") == lines[end].startswith("|")):
                end += 1
            blocks.append((kind, lines[index:end]))
            index = end
    return blocks


def _render_block(kind, lines):
    if kind == "code":
        while lines and not lines[-1].strip():
            lines = lines[:-1]
        return [".PP", ".nf"] + [_line(_escape(text)) for text in lines] + [".fi"]
    if kind == "heading":
        level, title = len(lines[0]) - len(lines[0].lstrip("#")), lines[0].lstrip("#").strip()
        return [(".SH " if level <= 2 else ".SS ") + _inline(title.upper() if level <= 2 else title)]
    if kind == "list":
        items, out = [], []
        for text in lines:
            mark = _ITEM.match(text)
            if mark:
                items.append((mark.group(1).strip(), text[mark.end():].strip()))
            else:
                items[-1] = (items[-1][0], items[-1][1] + " " + text.strip())
        for mark, item in items:
            out += ['.IP "%s" 4' % mark if mark != "-" else ".IP \\(bu 2", _line(_inline(item))]
        return out
    if kind == "table":
        rows = [[cell.strip() for cell in text.strip().strip("|").split("|")] for text in lines
                if not re.match(r"^\|[\s:|-]+\|$", text.strip())]
        out = []
        for row in rows:
            out += [".TP", _line(_inline(row[0])), _line(" \\(em ".join(_inline(cell) for cell in row[1:]))]
        return out
    return [".PP", _line(_inline(" ".join(text.strip() for text in lines)))]


def render(name, markdown, summary):
    """The man page (roff text) of program name from its doc page."""
    lines = markdown.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    out = ['.TH "%s" 1 "" "netchain %s" "netchain manual"' % (name.upper(), __version__),
           ".SH NAME", "%s \\- %s" % (_escape(name), _escape(summary)), ".SH DESCRIPTION"]
    for kind, block in _blocks(lines):
        out += _render_block(kind, block)
    return "\n".join(out) + "\n"


def summaries():
    """program -> its one-line job, from doc/index.md's table."""
    with open(os.path.join(ROOT, "doc", "index.md")) as handle:
        found = re.findall(r"^\| \[([\w@-]+)\]\([\w@-]+\.md\) \| (.*?) \|$", handle.read(), re.M)
    return dict(found)


def pages():
    """(path, text) of every man page as it should be."""
    jobs = summaries()
    for program in TABLE:
        with open(os.path.join(ROOT, "doc", program.name + ".md")) as handle:
            text = render(program.name, handle.read(), jobs[program.name])
        yield os.path.join(ROOT, "man", program.name + ".1"), text


def main(argv):
    stale = []
    for path, text in pages():
        try:
            with open(path) as handle:
                current = handle.read()
        except FileNotFoundError:
            current = None
        if current == text:
            continue
        stale.append(path)
        if "--check" not in argv:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as handle:
                handle.write(text)
    if "--check" in argv and stale:
        sys.stderr.write("mkman: out of date: %s\n" % " ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
