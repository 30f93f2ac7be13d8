"""Gateway presets: one YAML file per gateway beside this module, named after the preset.

A preset holds every gateway field with real URLs and rules; its `secrets` list the names with empty values,
the only thing the operator still has to type. `fill_preset` gives the definition with those typed in,
ready for `save_gateway` (which validates it).
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

PRESETS_DIR = Path(__file__).parent


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def load_preset(name: str) -> dict[str, Any]:
    """The preset as written: every gateway field, secrets with empty values. KeyError for an unknown name."""
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise KeyError(f"no preset named {name!r} (known: {', '.join(preset_names())})")
    return yaml.safe_load(path.read_text())


def fill_preset(name: str, secrets: Mapping[str, str], **fields: Any) -> dict[str, Any]:
    """The preset with its secrets filled in and any fields overridden (e.g. name=, sender=).

    ValueError names a secret left empty or one the preset does not use, since either would only show up
    when the first message fails.
    """
    data = load_preset(name)
    wanted = set(data.get("secrets") or {})
    unknown = sorted(set(secrets) - wanted)
    if unknown:
        raise ValueError(
            f"preset {name} has no secret {', '.join(unknown)} (it uses: {', '.join(sorted(wanted))})"
        )
    missing = sorted(n for n in wanted if not str(secrets.get(n, "")).strip())
    if missing:
        raise ValueError(f"preset {name} needs a value for {', '.join(missing)}")
    return {**data, "secrets": {n: str(secrets[n]) for n in sorted(wanted)}, **fields}


def demo_gateway(base_url: str) -> dict[str, Any]:
    """The 'demo' gateway of `make run`: the demo preset aimed at the bundled fake gateway."""
    data = load_preset("demo")
    data["url"] = data["url"].replace("http://127.0.0.1:9090", base_url.rstrip("/"))
    return data
