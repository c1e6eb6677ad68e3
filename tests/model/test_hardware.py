"""The shipped hardware profiles and the loader's handling of broken ones.

The shipped data is tested as data: every required device is there, every figure cites a listed,
dated source, and a few well-known figures have their published values. The loader is tested on
copies in ``tmp_path``: one broken file is reported by name and field while the others still load.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from planner.model.hardware import DEFAULT_PROFILE_DIR, HardwareProfile, load_profiles

REQUIRED_IDS = {
    # data-centre GPUs
    "nvidia-v100-sxm2-32gb",
    "nvidia-a100-sxm-40gb",
    "nvidia-a100-sxm-80gb",
    "nvidia-a100-pcie-40gb",
    "nvidia-a100-pcie-80gb",
    "nvidia-h100-sxm",
    "nvidia-h100-pcie",
    "nvidia-h200-sxm",
    "nvidia-b200",
    "nvidia-l4",
    "nvidia-l40s",
    "nvidia-t4",
    "nvidia-a10g",
    "nvidia-rtx-4090",
    "amd-mi250x",
    "amd-mi300x",
    # TPUs and other data-centre ASICs
    "google-tpu-v2",
    "google-tpu-v3",
    "google-tpu-v4",
    "google-tpu-v5e",
    "google-tpu-v5p",
    "google-tpu-v6e",
    "aws-trainium",
    "aws-trainium2",
    "aws-inferentia2",
    "intel-gaudi2",
    "intel-gaudi3",
    "qualcomm-cloud-ai-100-pro",
    # edge
    "apple-m4-neural-engine",
    "qualcomm-snapdragon-x-elite-npu",
    "intel-core-ultra-meteor-lake-npu",
    "intel-core-ultra-lunar-lake-npu",
    "google-coral-edge-tpu",
    "nvidia-jetson-agx-orin-64gb",
    "nvidia-jetson-orin-nano-8gb",
    # server CPUs
    "amd-epyc-9654",
    "intel-xeon-platinum-8480plus",
}

EDGE_IDS = {
    "apple-m2-neural-engine",
    "apple-m3-neural-engine",
    "apple-m4-neural-engine",
    "qualcomm-snapdragon-x-elite-npu",
    "intel-core-ultra-meteor-lake-npu",
    "intel-core-ultra-lunar-lake-npu",
    "google-coral-edge-tpu",
    "nvidia-jetson-agx-orin-64gb",
    "nvidia-jetson-orin-nano-8gb",
    "nvidia-jetson-orin-nano-8gb-super",
}

# Names as NVML (or /proc/cpuinfo) reports them, and the profile each must resolve to.
REPORTED_NAMES = {
    "Tesla V100-SXM2-32GB": "nvidia-v100-sxm2-32gb",
    "NVIDIA A100-SXM4-40GB": "nvidia-a100-sxm-40gb",
    "NVIDIA A100-SXM4-80GB": "nvidia-a100-sxm-80gb",
    "NVIDIA A100-PCIE-40GB": "nvidia-a100-pcie-40gb",
    "NVIDIA A100 80GB PCIe": "nvidia-a100-pcie-80gb",
    "NVIDIA H100 80GB HBM3": "nvidia-h100-sxm",
    "NVIDIA H100 PCIe": "nvidia-h100-pcie",
    "NVIDIA H200": "nvidia-h200-sxm",
    "NVIDIA B200": "nvidia-b200",
    "NVIDIA L4": "nvidia-l4",
    "NVIDIA L40S": "nvidia-l40s",
    "Tesla T4": "nvidia-t4",
    "NVIDIA A10G": "nvidia-a10g",
    "NVIDIA GeForce RTX 4090": "nvidia-rtx-4090",
    "AMD EPYC 9654 96-Core Processor": "amd-epyc-9654",
    "Intel(R) Xeon(R) Platinum 8480+": "intel-xeon-platinum-8480plus",
}

DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@pytest.fixture(scope="module")
def report():
    return load_profiles()


@pytest.fixture(scope="module")
def by_id(report) -> dict[str, HardwareProfile]:
    return report.by_id()


def _figures(data: object, where: str = "") -> list[tuple[str, dict]]:
    """Every mapping with a `source` key in a profile's dumped data, with its path."""
    found: list[tuple[str, dict]] = []
    if isinstance(data, dict):
        if "source" in data:
            found.append((where, data))
        for key, value in data.items():
            if key != "sources":
                found += _figures(value, f"{where}.{key}" if where else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _figures(value, f"{where}[{i}]")
    return found


def _resolve(name: str, profiles: tuple[HardwareProfile, ...]) -> str | None:
    """The profile whose longest match name is a case-insensitive substring of ``name``."""
    best: tuple[int, str] | None = None
    for p in profiles:
        for pattern in p.match_names:
            if pattern.lower() in name.lower() and (best is None or len(pattern) > best[0]):
                best = (len(pattern), p.id)
    return None if best is None else best[1]


# --- the shipped data -------------------------------------------------------------------------


def test_shipped_profiles_load_without_errors(report):
    assert report.errors == ()


def test_at_least_thirty_profiles(report):
    assert len(report.profiles) >= 30


def test_required_devices_present(by_id):
    missing = REQUIRED_IDS - by_id.keys()
    assert not missing, f"missing profiles: {sorted(missing)}"


def test_every_kind_and_placement_represented(report):
    assert {p.kind for p in report.profiles} == {"gpu", "tpu", "npu", "cpu"}
    assert {p.placement for p in report.profiles} == {"datacenter", "edge"}


def test_file_names_equal_ids_and_start_with_a_comment():
    files = sorted(DEFAULT_PROFILE_DIR.glob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# "), f"{path.name} lacks a leading comment line"
        assert yaml.safe_load(text)["id"] == path.stem


def test_every_figure_cites_a_listed_source(report):
    for p in report.profiles:
        figures = _figures(p.model_dump())
        assert figures, f"{p.id} has no figures at all"
        for where, fig in figures:
            assert fig["source"] in p.sources, f"{p.id}: {where} cites unlisted {fig['source']!r}"


def test_every_source_is_dated_and_used(report):
    for p in report.profiles:
        used = {fig["source"] for _, fig in _figures(p.model_dump())}
        for key, src in p.sources.items():
            assert DATE_RE.match(src.date), f"{p.id}: source {key} has date {src.date!r}"
            assert key in used, f"{p.id}: source {key} is listed but cited by no figure"


def test_dated_prices(report):
    for p in report.profiles:
        for price in p.cloud_prices:
            assert DATE_RE.match(price.date), f"{p.id}: cloud price dated {price.date!r}"
            assert price.provider and price.region
        if p.purchase_price_usd is not None:
            assert DATE_RE.match(p.purchase_price_usd.date)


def test_known_published_values(by_id):
    h100 = by_id["nvidia-h100-sxm"]
    assert h100.tflops("bf16") == 989
    assert h100.memory_gb.value == 80
    assert by_id["nvidia-a100-sxm-80gb"].memory_bandwidth_gb_per_s.value == 2039
    assert by_id["nvidia-a100-sxm-40gb"].tflops("bf16") == 312
    assert by_id["nvidia-v100-sxm2-32gb"].tflops("fp16") == 125
    assert by_id["nvidia-h200-sxm"].memory_gb.value == 141
    assert by_id["amd-mi300x"].memory_gb.value == 192
    assert by_id["google-tpu-v4"].tflops("bf16") == 275
    assert by_id["google-tpu-v5e"].tflops("bf16") == 197
    assert by_id["google-tpu-v6e"].tflops("bf16") == 918
    assert by_id["aws-trainium2"].tflops("bf16") == 667
    assert by_id["google-coral-edge-tpu"].tflops("int8") == 4
    assert by_id["google-coral-edge-tpu"].rated_power_w.value == 2


def test_measured_power_from_patterson_and_google(by_id):
    v2 = by_id["google-tpu-v2"]
    assert v2.tflops("bf16") == 45
    assert v2.memory_bandwidth_gb_per_s.value == 600
    assert (v2.typical_power_w.value, v2.typical_power_w.basis) == (221, "measured")
    assert v2.rated_power_w.value == 280
    v100 = by_id["nvidia-v100-sxm2-32gb"]
    assert (v100.typical_power_w.value, v100.typical_power_w.basis) == (325, "measured")
    # Patterson et al. report system power per processor (host share included); Google's TPU
    # docs report the chip alone.
    assert v2.typical_power_w.scope == v100.typical_power_w.scope == "system"
    assert by_id["google-tpu-v3"].typical_power_w.basis == "measured"
    assert by_id["google-tpu-v3"].typical_power_w.scope == "device"
    # TPU v4: PaLM's measured system power per chip (Appendix B) is used as such; the chip
    # alone draws 170 W on average (Google's TPU v4 docs, kept in the note).
    v4 = by_id["google-tpu-v4"].typical_power_w
    assert (v4.value, v4.basis, v4.scope) == (378.5, "measured", "system")


def test_a100_embodied_carbon_only_where_published(by_id):
    assert by_id["nvidia-a100-sxm-40gb"].embodied_co2e_kg_per_device.value == 318
    for pid in ("nvidia-h100-sxm", "nvidia-v100-sxm2-32gb", "google-tpu-v3", "google-tpu-v4"):
        assert by_id[pid].embodied_co2e_kg_per_device is None, (
            f"{pid}: die-only figures are not embodied")


def test_no_sparse_figures_for_hopper(by_id):
    # NVIDIA prints 1,979 (sparse) for H100/H200 BF16; the dense figure is half of it.
    for pid in ("nvidia-h100-sxm", "nvidia-h200-sxm"):
        assert by_id[pid].tflops("bf16") < 1000
        assert by_id[pid].tflops("fp8") == pytest.approx(2 * by_id[pid].tflops("bf16"), rel=1e-3)


# --- properties over all profiles ------------------------------------------------------------


def test_datacenter_gpus_have_memory_bandwidth_and_half_precision(report):
    for p in report.profiles:
        if p.kind == "gpu" and p.placement == "datacenter":
            assert p.memory_gb is not None, p.id
            assert p.memory_bandwidth_gb_per_s is not None, p.id
            assert p.tflops("bf16") or p.tflops("fp16"), p.id


def test_edge_profiles_are_npus_or_jetsons_with_a_peak(report, by_id):
    edge = {p.id for p in report.profiles if p.placement == "edge"}
    assert edge >= EDGE_IDS
    for pid in edge:
        p = by_id[pid]
        assert p.kind in {"npu", "gpu"}, pid
        assert p.dense_tflops, f"{pid} has no peak figure"
        assert p.cloud_prices == [], pid


def test_precision_ordering(report):
    """Lower precision never has a lower peak than a higher one on the same device."""
    for p in report.profiles:
        t = {k: v.value for k, v in p.dense_tflops.items()}
        for low, high in (("tf32", "bf16"), ("bf16", "fp8"), ("fp16", "fp8"), ("fp32", "fp16")):
            if low in t and high in t:
                assert t[low] <= t[high], f"{p.id}: {low} {t[low]} > {high} {t[high]}"


def test_rated_power_is_a_rating_and_measured_power_is_typical(report):
    for p in report.profiles:
        if p.rated_power_w is not None:
            assert p.rated_power_w.basis in {"tdp", "tbp", "max"}, p.id
            assert p.rated_power_w.value > 0, p.id
        if p.typical_power_w is not None:
            assert p.typical_power_w.basis in {"typical", "measured"}, p.id


def test_reported_names_resolve_to_one_profile(report):
    for name, expected in REPORTED_NAMES.items():
        assert _resolve(name, report.profiles) == expected, name


def test_match_names_are_not_shared(report):
    seen: dict[str, str] = {}
    for p in report.profiles:
        for pattern in p.match_names:
            key = pattern.lower()
            assert key not in seen, f"{pattern!r} in both {seen[key]} and {p.id}"
            seen[key] = p.id


# --- the loader on broken copies -------------------------------------------------------------

GOOD = ("nvidia-h100-sxm", "google-tpu-v4")


def _folder_with(tmp_path: Path, name: str, text: str) -> Path:
    for pid in GOOD:
        shutil.copy(DEFAULT_PROFILE_DIR / f"{pid}.yaml", tmp_path / f"{pid}.yaml")
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _h100_data() -> dict:
    return yaml.safe_load((DEFAULT_PROFILE_DIR / "nvidia-h100-sxm.yaml").read_text())


def _broken_negative_memory() -> tuple[str, str, str]:
    data = _h100_data() | {"id": "broken"}
    data["memory_gb"] = {"value": -80, "source": "nv-h100-ds"}
    return "broken.yaml", yaml.safe_dump(data), "memory_gb"


def _broken_missing_sources() -> tuple[str, str, str]:
    data = _h100_data() | {"id": "broken"}
    del data["sources"]
    return "broken.yaml", yaml.safe_dump(data), "sources"


def _broken_typo_field() -> tuple[str, str, str]:
    data = _h100_data() | {"id": "broken"}
    data["memory_gbb"] = data.pop("memory_gb")
    return "broken.yaml", yaml.safe_dump(data), "memory_gbb"


def _broken_unlisted_source() -> tuple[str, str, str]:
    data = _h100_data() | {"id": "broken"}
    data["memory_gb"] = {"value": 80, "source": "nowhere"}
    return "broken.yaml", yaml.safe_dump(data), "nowhere"


def _broken_yaml() -> tuple[str, str, str]:
    return "broken.yaml", "id: broken\nname: [unclosed\n", "not valid YAML"


def _broken_id_mismatch() -> tuple[str, str, str]:
    data = _h100_data() | {"id": "something-else"}
    return "broken.yaml", yaml.safe_dump(data), "id"


def _broken_bad_precision() -> tuple[str, str, str]:
    data = _h100_data() | {"id": "broken"}
    data["dense_tflops"]["fp4"] = {"value": 9000, "source": "nv-h100-ds"}
    return "broken.yaml", yaml.safe_dump(data), "dense_tflops.fp4"


@pytest.mark.parametrize(
    "make",
    [
        _broken_negative_memory,
        _broken_missing_sources,
        _broken_typo_field,
        _broken_unlisted_source,
        _broken_yaml,
        _broken_id_mismatch,
        _broken_bad_precision,
    ],
)
def test_broken_profile_is_reported_and_others_still_load(tmp_path, make):
    name, text, field = make()
    folder = _folder_with(tmp_path, name, text)
    result = load_profiles(folder)
    assert sorted(p.id for p in result.profiles) == sorted(GOOD)
    assert len(result.errors) == 1
    message = result.errors[0]
    assert name in message
    assert field in message


def test_copied_profile_with_new_id_loads(tmp_path):
    """The README's recipe: copy a file, change id and file name, and it loads."""
    data = _h100_data() | {"id": "my-gpu", "name": "My GPU"}
    (tmp_path / "my-gpu.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    result = load_profiles(tmp_path)
    assert result.errors == ()
    assert result.by_id()["my-gpu"].tflops("bf16") == 989
