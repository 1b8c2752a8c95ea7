"""Flame graphs as plain SVG from py-spy's collapsed stacks (``py-spy record -f raw``).

py-spy's own SVG embeds a third-party script; this one is drawn here, with no
script at all: each frame a rectangle as wide as its share of the samples, callers
above callees (an icicle), the function and its share in each rectangle's tooltip.
Line numbers are dropped so that a function's samples add up in one rectangle.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape

WIDTH = 1200
ROW = 17
FONT = 11
#: Roughly the width of one character of an 11-pixel sans-serif font.
CHAR = 6.4
#: Frames narrower than this many pixels are left out (their samples stay in the parent).
MIN_WIDTH = 0.3
_LINE = re.compile(r":\d+\)$")


@dataclass
class Frame:
    """A function and the samples that passed through it along one path."""

    name: str
    samples: int = 0
    children: dict[str, Frame] = field(default_factory=dict)

    def add(self, stack: list[str], samples: int) -> None:
        self.samples += samples
        if stack:
            head, *rest = stack
            child = self.children.setdefault(head, Frame(head))
            child.add(rest, samples)


def parse(lines: Iterable[str]) -> list[tuple[list[str], int]]:
    """``frame;frame;frame count`` lines as (frames, samples), line numbers dropped."""
    stacks = []
    for line in lines:
        line = line.rstrip()
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            # A frame named by a multi-line string (py-spy names a module's top level
            # by its docstring at times) breaks its stack over lines: left out.
            continue
        stacks.append(([_LINE.sub(")", frame) for frame in stack.split(";")], int(count)))
    return stacks


def tree(stacks: Iterable[tuple[list[str], int]], root: str = "all") -> Frame:
    top = Frame(root)
    for frames, samples in stacks:
        top.add(frames, samples)
    return top


def _colour(name: str) -> str:
    """Our code in warm colours, the standard library in grey-blue, the rest in green."""
    shade = hashlib.blake2s(name.encode(), digest_size=1).digest()[0] / 255
    if "jobprocessor/" in name or "bench/" in name:
        return f"rgb(235,{int(120 + 90 * shade)},60)"
    if "site-packages/" in name:
        return f"rgb({int(110 + 60 * shade)},190,110)"
    return f"rgb({int(150 + 50 * shade)},{int(170 + 40 * shade)},215)"


def _depth(frame: Frame) -> int:
    return 1 + max((_depth(child) for child in frame.children.values()), default=0)


def render(root: Frame, title: str) -> str:
    """The SVG document of ``root``'s flame graph."""
    scale = WIDTH / max(root.samples, 1)
    header = 2 * ROW
    height = header + _depth(root) * ROW + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="{FONT}">',
        f'<rect width="{WIDTH}" height="{height}" fill="#fbfbf8"/>',
        f'<text x="4" y="{ROW}" font-size="{FONT + 3}">{escape(title)}</text>',
    ]

    def draw(frame: Frame, x: float, level: int) -> None:
        width = frame.samples * scale
        if width < MIN_WIDTH:
            return
        y = header + level * ROW
        share = 100 * frame.samples / max(root.samples, 1)
        tip = f"{frame.name}: {frame.samples} samples ({share:.1f} %)"
        parts.append(
            f'<g><title>{escape(tip)}</title><rect x="{x:.2f}" y="{y}" width="{width:.2f}" '
            f'height="{ROW - 1}" fill="{_colour(frame.name)}" rx="1"/>'
        )
        fits = int((width - 4) / CHAR)
        if fits >= 3:
            label = frame.name if len(frame.name) <= fits else frame.name[: fits - 1] + "…"
            parts.append(f'<text x="{x + 2:.2f}" y="{y + ROW - 5}">{escape(label)}</text>')
        parts.append("</g>")
        for child in sorted(frame.children.values(), key=lambda c: c.name):
            draw(child, x, level + 1)
            x += child.samples * scale

    draw(root, 0.0, 0)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
