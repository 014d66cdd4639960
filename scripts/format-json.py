#!/usr/bin/env python3
"""Formats JSON files the way the repository writes them by hand: two-space indentation, with
objects and arrays kept on one line when they fit in 100 columns. Key order is kept.

Usage: scripts/format-json.py FILE..."""
import json
import sys
from collections import OrderedDict

WIDTH = 100


def compact(value):
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {compact(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(compact(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def render(value, indent, prefix_len):
    one_line = compact(value)
    if indent + prefix_len + len(one_line) <= WIDTH or not isinstance(value, (dict, list)) or not value:
        return one_line
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            key = json.dumps(k, ensure_ascii=False) + ": "
            items.append(pad + key + render(v, indent + 2, len(key) + 1))
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + render(v, indent + 2, 1) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f, object_pairs_hook=OrderedDict)
    with open(path, "w", encoding="utf-8") as f:
        f.write(render(data, 0, 0) + "\n")
