"""Reading YAML safely and fast: libyaml's C loader where PyYAML was built with it."""

from __future__ import annotations

import yaml

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> object:
    """``yaml.safe_load`` semantics, using the C loader when available (about 7x faster)."""
    return yaml.load(text, Loader=_SafeLoader)
