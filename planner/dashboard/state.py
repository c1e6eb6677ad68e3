"""Dashboard state: the mappings state → scenario dict, scenario → state, and state ↔ URL
query parameters, all derived from the declarations in ``inputs``. Pure: no streamlit.

The session state is a flat mapping of input keys to values in the units the widgets show
(percent, billions of parameters); ``to_scenario`` converts to the scenario file's units.
``GIVEN`` holds the keys of the inputs the user gave (a widget changed, a URL parameter, a
field of a loaded scenario file). An input whose value the model would assume anyway (PUE,
electricity price, service life, from ``profiles/defaults.yaml``) is written to the scenario
only when given, so its provenance stays "default" until the user gives it, even as the
same number.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping

import yaml

from planner.dashboard.inputs import (
    AUTO,
    BY_KEY,
    CUSTOM_MODEL,
    DEFAULT_REGION,
    DEVICE_CLASSES,
    INPUTS,
    NONE,
    SIZE_BY,
    WORLD_AVERAGE,
    Input,
    bounds,
    default_value,
    labels,
)
from planner.errors import ScenarioError
from planner.model.defaults import Defaults
from planner.model.hardware import PRECISIONS
from planner.model.levers import quantisations_below
from planner.model.scenario import (
    QUANTISED_PRECISIONS,
    Scenario,
    parse_scenario,
    parse_scenario_text,
)

__all__ = ["AUTO", "CUSTOM_MODEL", "DEFAULT_REGION", "DEVICE_CLASSES", "NONE", "SIZE_BY",
           "WORLD_AVERAGE"]

# Session keys where each run leaves its own wall and CPU time (bench/dashboard_speed.py).
LAST_RUN = "_last_run_s"
LAST_RUN_CPU = "_last_run_cpu_s"
GIVEN = "_given"  # the keys of the inputs the user gave, in the session state
PRICING_MODES = ("cloud", "on_prem")
QUANTISATION = (NONE, *QUANTISED_PRECISIONS)
PRUNING = (NONE, "2:4")
ALL_SECTIONS = ("training", "inference", "lifecycle", "levers", "uncertainty")
FILE_SECTIONS = (*ALL_SECTIONS, "selection")  # a saved file also keeps the devices picked
ALWAYS = ("name", "site", "pricing")  # written whatever sections are asked for
ORDER = ("name", "training", "inference", "lifecycle", "levers", "uncertainty", "selection",
         "site", "pricing")
FIXED = {"training": {"hardware": "all"}, "inference": {"hardware": "all"}}


def quantisation_choices(precision: str) -> list[str]:
    """The quantisation lever's choices for a model served at ``precision``: none, and the
    precisions the lever accepts there (``levers.quantisations_below``)."""
    return [NONE, *quantisations_below(precision)]


def fields(defaults: Defaults | None = None) -> dict[str, Input]:
    """Every input, by key (``defaults`` is accepted for callers that pass it)."""
    return dict(BY_KEY)


def default_state(defaults: Defaults) -> dict[str, object]:
    """The first view: Llama 3 8B trained in 30 days and served as a chat assistant at
    200 requests/s (400 at peak, p95 within 8 s) for 3 years, in AWS us-east-1."""
    return {k: list(v) if isinstance(v, list) else v for k, v in _first_view(defaults).items()}


_FIRST_VIEW: list = [None]  # (the defaults object, its first-view values), set at once


def _first_view(defaults: Defaults) -> dict[str, object]:
    """``default_state`` made once per defaults object (a page asks a dozen times a run);
    shared, so read only: ``default_state`` hands out copies of its lists."""
    kept = _FIRST_VIEW[0]
    if kept is None or kept[0] is not defaults:
        kept = (defaults, {i.key: default_value(i, defaults) for i in INPUTS})
        _FIRST_VIEW[0] = kept  # one assignment: a session thread never sees half of it
    return kept[1]


def _same(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or a == b
    if isinstance(a, float | int) and isinstance(b, float | int):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-15)
    return a == b


def given_keys(state: Mapping[str, object], defaults: Defaults) -> set[str]:
    """The inputs the user gave: those recorded in ``GIVEN``, and any whose value is not the
    first view's (only the user, a URL or a file can have changed it)."""
    recorded = set(state.get(GIVEN) or ())
    first = _first_view(defaults)
    changed = {i.key for i in INPUTS if i.key in state and not _same(state[i.key], first[i.key])}
    return recorded | changed


def region_to_site(region: str) -> dict[str, str]:
    """``aws:us-east-1`` → provider and region; ``country:FRA`` → country; ``default`` → {}."""
    if region == WORLD_AVERAGE or not region:
        return {}
    head, _, tail = region.partition(":")
    if head == "country":
        return {"country": tail}
    return {"cloud_provider": head, "cloud_region": tail}


def site_to_region(site: Mapping[str, object]) -> str:
    """The inverse of :func:`region_to_site`."""
    if site.get("cloud_provider") and site.get("cloud_region"):
        return f"{site['cloud_provider']}:{site['cloud_region']}"
    if site.get("country"):
        return f"country:{site['country']}"
    return WORLD_AVERAGE


def _to_file(value: object, scale: float) -> object:
    """Widget value → scenario value; anything not a number passes through for the schema."""
    if scale == 1.0 or not isinstance(value, int | float) or isinstance(value, bool):
        return value
    return float(value) * scale if scale > 1 else float(value) / (1.0 / scale)


def _from_file(value: object, scale: float) -> object:
    if scale == 1.0 or not isinstance(value, int | float) or isinstance(value, bool):
        return value
    out = float(value) / scale if scale > 1 else float(value) * (1.0 / scale)
    return float(f"{out:.12g}")


def _put(tree: dict, path: str, value: object) -> None:
    *heads, last = path.split(".")
    for head in heads:
        tree = tree.setdefault(head, {})
    if isinstance(value, dict):
        tree.setdefault(last, {}).update(value)
    else:
        tree[last] = value


def has_traffic(state: Mapping[str, object]) -> bool:
    """Whether an average or peak load is given, so a fleet (and a lifecycle) exists."""
    return state.get("i_rps_avg") is not None or state.get("i_rps_peak") is not None


def _wanted(sections: Iterable[str], state: Mapping[str, object]) -> set[str]:
    wanted = set(ALWAYS) | set(sections)
    if "inference" not in wanted or not has_traffic(state):
        wanted.discard("lifecycle")
    if "inference" not in wanted:
        wanted.discard("levers")
    return wanted


def _applies(item: Input, state: Mapping[str, object], wanted: set[str]) -> bool:
    """Whether the input goes into a scenario of the ``wanted`` sections at this state."""
    if item.path is None or item.section not in wanted:
        return False
    return item.when is None or item.when(state)


def to_scenario(state: Mapping[str, object], defaults: Defaults,
                sections: tuple[str, ...] = ("training", "inference")) -> dict:
    """The scenario dict (the YAML file's shape) for the state, with only ``sections``."""
    s = {**default_state(defaults), **state}
    given = given_keys(s, defaults)
    wanted = _wanted(sections, s)
    tree: dict[str, object] = {k: dict(v) for k, v in FIXED.items() if k in wanted}
    for item in INPUTS:
        if not _applies(item, s, wanted):
            continue
        value = s[item.key]
        if value is None and item.optional:
            continue  # blank means none
        if item.absent is not None and value == item.absent:
            continue
        if item.written == "given" and item.key not in given:
            continue
        _put(tree, item.path, region_to_site(str(value)) if item.region
             else _to_file(value, item.scale))
    for section in ("levers", "selection"):  # present only when something is in them
        if not tree.get(section):
            tree.pop(section, None)
    tree.setdefault("site", {})
    tree.setdefault("pricing", {})
    return {k: tree[k] for k in ORDER if k in tree}


def plan_key(scenario: Mapping[str, object]) -> str:
    """A stable text key of a scenario dict, for caching plans (JSON, which YAML also reads)."""
    return json.dumps(scenario, sort_keys=True)


def scenario_yaml(state: Mapping[str, object], defaults: Defaults) -> str:
    """The state as a scenario file that ``python -m planner plan`` also reads."""
    data = to_scenario(state, defaults, FILE_SECTIONS)
    header = ("# Scenario saved by the AI capacity planner dashboard.\n"
              "# Load it back in the dashboard's sidebar, or run: python -m planner plan FILE\n")
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _get(tree: object, path: str) -> tuple[bool, object]:
    for part in path.split("."):
        if not isinstance(tree, Mapping) or part not in tree:
            return False, None
        tree = tree[part]
    return True, tree


def _leaves(tree: Mapping[str, object], prefix: str = "") -> list[str]:
    out = []
    for k, v in tree.items():
        path = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out += _leaves(v, path + ".")
        else:
            out.append(path)
    return out


KEEP_WHEN_ABSENT = ("training", "inference", "lifecycle", "uncertainty")


def _decode(item: Input, full: Mapping[str, object], defaults: Defaults) -> object:
    found, value = _get(full, item.path)
    if item.region:
        region = site_to_region(value or {}) if found else WORLD_AVERAGE
        return item.absent if item.absent is not None and region == WORLD_AVERAGE else region
    if not found or value is None:
        if item.absent is not None:
            return item.absent
        return None if item.optional else default_value(item, defaults)
    if item.kind == "str" and not isinstance(value, str):
        return item.absent if item.absent is not None else default_value(item, defaults)
    if item.kind == "int":
        return int(value)
    if item.kind == "float":
        return _from_file(value, item.scale)
    return value


def from_scenario(scenario: Scenario, defaults: Defaults) -> tuple[dict[str, object], list[str]]:
    """State values for a validated scenario (with ``GIVEN``: the inputs the file sets), and
    the fields the dashboard cannot show (set in the file, not what the dashboard plans)."""
    full = scenario.model_dump()
    set_in_file = scenario.model_dump(exclude_unset=True)
    out: dict[str, object] = {}
    given: list[str] = []
    for item in INPUTS:
        if item.decode is not None:
            value = item.decode(set_in_file)
            if value is not None:
                out[item.key] = value
                given.append(item.key)
            continue
        if item.path is None:
            continue
        if item.section in KEEP_WHEN_ABSENT and full.get(item.section) is None:
            continue  # a section the file lacks leaves those inputs as they are
        out[item.key] = _decode(item, full, defaults)
        if _get(set_in_file, item.path)[0]:
            given.append(item.key)
    out[GIVEN] = given
    return out, _ignored(scenario, out, defaults)


def _ignored(scenario: Scenario, values: Mapping[str, object], defaults: Defaults) -> list[str]:
    """Fields set in the file whose value the dashboard's scenario of ``values`` differs in."""
    original = scenario.model_dump()
    try:
        rebuilt = parse_scenario(to_scenario({**default_state(defaults), **values}, defaults,
                                             FILE_SECTIONS)).model_dump()
    except ScenarioError:
        return []
    out = []
    for path in _leaves(scenario.model_dump(exclude_unset=True)):
        _, want = _get(original, path)
        _, got = _get(rebuilt, path)
        if not (_same(want, got) if not isinstance(want, Mapping) else want == got):
            out.append(path)
    return out


def load_scenario_text(text: str | bytes, origin: str,
                       defaults: Defaults) -> tuple[dict[str, object], list[str]]:
    """Parse and validate an uploaded scenario file; ScenarioError says what is wrong."""
    return from_scenario(parse_scenario_text(text, origin), defaults)


def check(state: Mapping[str, object], defaults: Defaults,
          sections: tuple[str, ...] = ("training", "inference")) -> list[str]:
    """Each input of ``sections`` outside its allowed range, in the words and units of the
    widget ("Cloud discount (%) must be below 100"); empty when all are fine."""
    s = {**default_state(defaults), **state}
    wanted = _wanted(sections, s)
    problems = []
    for item in INPUTS:
        if item.kind not in ("int", "float") or not _applies(item, s, wanted):
            continue
        value = s[item.key]
        if value is None:
            if not item.optional:
                problems.append(f"{item.label}: give a value")
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            problems.append(f"{item.label} must be a finite number")
            continue
        problem = bounds(item.key).problem(float(value))
        if problem:
            problems.append(f"{item.label} {problem}")
    return problems


def explain(message: str) -> str:
    """A planner message in the dashboard's words: scenario field names become the labels the
    user sees (``inference.requests_per_s_peak`` → "Peak load (requests/s)")."""
    text = message.removeprefix("scenario: ")
    names = labels()
    for path, label in names.items():
        text = text.replace(f"`{path}`", label).replace(path, label)
    leaf_count: dict[str, int] = {}
    for path in names:
        leaf_count[path.rsplit(".", 1)[-1]] = leaf_count.get(path.rsplit(".", 1)[-1], 0) + 1
    for path, label in names.items():
        leaf = path.rsplit(".", 1)[-1]
        if leaf_count[leaf] == 1 and "_" in leaf:
            text = re.sub(rf"`?\b{re.escape(leaf)}\b`?", label, text)
    return text


def to_query(state: Mapping[str, object], defaults: Defaults) -> dict[str, str]:
    """URL query parameters for the state: every input the user gave."""
    given = given_keys(state, defaults)
    out: dict[str, str] = {}
    for item in INPUTS:
        if item.key not in state or item.key not in given:
            continue
        value = state[item.key]
        if item.kind == "list":
            out[item.key] = ",".join(str(v) for v in (value or [])) or "-"
        elif value is None:
            out[item.key] = ""
        else:
            out[item.key] = str(value)
    return out


def _parse(item: Input, text: str) -> object:
    if item.kind == "list":
        return [] if text in ("", "-") else [v for v in text.split(",") if v]
    if item.optional and text.strip() == "":
        return None
    if item.kind == "bool":
        if text.lower() not in ("true", "false", "1", "0"):
            raise ValueError("not true or false")
        return text.lower() in ("true", "1")
    if item.kind == "float":
        value = float(text)
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return value
    if item.kind == "int":  # a 400-digit integer is refused, not carried on
        value = float(text)
        if not (math.isfinite(value) and value.is_integer() and abs(value) <= 2**53):
            raise ValueError("not a whole number in range")
        return int(value)
    return text


_KIND_WORDS = {"float": "a number", "int": "a whole number", "bool": "true or false",
               "list": "a list", "str": "text"}


def from_query(params: Mapping[str, str], defaults: Defaults,
               choices: Mapping[str, list[str]] | None = None,
               ) -> tuple[dict[str, object], list[str]]:
    """State values from URL query parameters, and one message per parameter not understood.

    ``choices`` lists the allowed values of choice inputs (regions, presets); a value outside
    them is reported and left at its default. Every value returned was given by the user.
    """
    choices = choices or {}
    out: dict[str, object] = {}
    errors: list[str] = []
    for key, text in params.items():
        item = BY_KEY.get(key)
        if item is None:
            continue  # not ours (e.g. Streamlit's own parameters)
        default = default_value(item, defaults)
        try:
            value = _parse(item, str(text))
        except ValueError:
            errors.append(f"URL parameter {key}={text!r} ({item.label}) is not "
                          f"{_KIND_WORDS.get(item.kind, 'a ' + item.kind)}; kept the "
                          f"default {default!r}")
            continue
        allowed = choices.get(key)
        if allowed is not None:
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if v not in allowed]
            if bad:
                errors.append(f"URL parameter {key} ({item.label}): "
                              f"{', '.join(map(str, bad))} is not one of the choices; kept "
                              f"the default {default!r}")
                continue
        out[key] = value
    return out, errors


def static_choices(preset_ids: list[str]) -> dict[str, list[str]]:
    """Allowed values of the choice inputs that do not depend on the catalogue."""
    models = [*preset_ids, CUSTOM_MODEL]
    return {
        "lv_quant": list(QUANTISATION), "lv_prune": list(PRUNING),
        "lv_distil": [NONE, *preset_ids], "lc_metric": ["cost", "energy", "co2e"],
        "sv_metric": ["annual_cost_usd", "annual_total_co2e_kg", "annual_energy_kwh"],
        "tp_metric": ["total_co2e_kg", "cost_usd", "energy_kwh"],
        "t_model": models, "i_model": models,
        "t_precision": list(PRECISIONS), "i_precision": list(PRECISIONS),
        "t_size_by": list(SIZE_BY), "price_mode": list(PRICING_MODES),
        "price_providers": ["site", "any"],
        "cmp_classes": list(DEVICE_CLASSES), "hw_classes": list(DEVICE_CLASSES),
    }
