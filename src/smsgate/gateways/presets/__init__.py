"""Gateway presets: one YAML file per gateway beside this module."""

from pathlib import Path
from typing import Any

import yaml

PRESETS_DIR = Path(__file__).parent


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def load_preset(name: str) -> dict[str, Any]:
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise KeyError(f"no preset named {name!r} (known: {', '.join(preset_names())})")
    return yaml.safe_load(path.read_text())


def demo_gateway(base_url: str) -> dict[str, Any]:
    """The 'demo' gateway of `make run`: the demo preset aimed at the bundled fake gateway."""
    data = load_preset("demo")
    data["url"] = data["url"].replace("http://127.0.0.1:9090", base_url.rstrip("/"))
    return data
