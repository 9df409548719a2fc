"""What config keys shows."""

from __future__ import annotations

import json

from rich.console import Console
from rich.text import Text


def render_keys(keys: list, console: Console) -> None:
    """signtrain config keys: every key, its type, default, allowed values and meaning (readable at any width)."""
    section = ""
    for k in keys:
        if k.key.split(".")[0] != section:
            section = k.key.split(".")[0]
            console.print(Text(f"{section}:", style="bold"))
        allowed = f"; {k.allowed}" if k.allowed else ""
        console.print(Text.assemble(("  " + k.key, "cyan"), f"  {k.type} = {json.dumps(k.default)}{allowed}"))
        console.print(f"      {k.help}", markup=False, soft_wrap=True, style="dim")
    console.print("Change any key with --set KEY=VALUE, or in a YAML file given to --config.", markup=False)
