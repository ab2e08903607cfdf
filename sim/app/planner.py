"""The planner's page (``sim app``): choose a region, a package (or upload one) and a baseline,
change levers, run, compare, see it on a map, and save the variant and its run folder.

State is per browser tab (Solara's reactive variables live in the tab's kernel). Runs go through
:func:`sim.app.session.run_variant` in a background task that reports progress, so the page stays
live while the model runs.
"""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import solara
import solara.lab

from sim.app import session
from sim.app.components import LeverForm, ResultsView
from sim.configuration import Policy, load_policy, own_region_name
from sim.errors import SimError

DEFAULT_REGION = "Dehong"
DEFAULT_PACKAGE = "dehong_2011"

region = solara.reactive(DEFAULT_REGION)
package = solara.reactive(DEFAULT_PACKAGE)
baseline = solara.reactive("")
uploaded: solara.Reactive[Policy | None] = solara.reactive(None)
upload_error = solara.reactive("")
entries: solara.Reactive[dict[str, Any]] = solara.reactive({})
status = solara.reactive("")
saved = solara.reactive("")


@lru_cache(maxsize=1)
def _regions() -> dict[str, Path]:
    return session.regions()


@lru_cache(maxsize=16)
def _packages(name: str) -> dict[str, Path]:
    return session.packages(name)


@lru_cache(maxsize=64)
def _load(path: str) -> Policy:
    return load_policy(path)


def current_policy() -> Policy | None:
    """The package being changed: the uploaded one, else the chosen package of ``configs/``."""
    if uploaded.value is not None:
        return uploaded.value
    path = _packages(region.value).get(package.value)
    return _load(str(path)) if path else None


AS_IT_IS = " (as it is)"
"""Suffix of the baseline choice that is the package itself, unchanged: the run then shows what
the planner's changes alone do."""


def baseline_policy(policy: Policy) -> Policy:
    """The chosen baseline: another package of the region, or the package as it is; by default
    the package's counterfactual (:func:`session.default_baseline`), else the package as it is."""
    if baseline.value.endswith(AS_IT_IS):
        return policy
    path = _packages(region.value).get(baseline.value) if baseline.value else None
    if path is None:
        default = session.default_baseline(policy)
        return _load(str(default)) if default else policy
    return _load(str(path))


@solara.lab.task
def run_task(policy: Policy, base: Policy, values: dict[str, Any], kind: str):
    """Save the variant, run it against the baseline, summarise (a background task)."""
    def progress(fraction: float, message: str) -> None:
        run_task.progress = 100 * fraction
        status.value = message

    t0 = time.perf_counter()
    folder, variant_path = session.run_variant(policy, base, values, kind, progress)
    t1 = time.perf_counter()
    summary = session.summarise(folder)
    print(f"sim app: {kind} run of {variant_path.stem} against {base.name}: {t1 - t0:.1f} s "
          f"(summary {time.perf_counter() - t1:.1f} s) -> {folder}", flush=True)
    command = session.command_line(base, variant_path, summary.settings, folder)
    return summary, variant_path, command, policy, values


def choose_region(name: str) -> None:
    region.value = name
    names = list(_packages(name))
    own = [n for n in names if not n.endswith("_pre_reform")]
    package.value = (own or names or [""])[0]
    baseline.value = ""
    uploaded.value = None
    entries.value = {}


def choose_package(name: str) -> None:
    package.value = name
    baseline.value = ""
    uploaded.value = None
    entries.value = {}


def on_upload(file: dict) -> None:
    """Check an uploaded package as `sim check` does; show the message if it fails."""
    try:
        pol = session.accept_upload(file["name"], file["data"])
    except SimError as exc:
        upload_error.value = str(exc)
        return
    upload_error.value = ""
    own = own_region_name(pol)
    if own in _regions() and own != region.value:  # show the uploaded package's own region
        choose_region(own)
    uploaded.value = pol
    baseline.value = ""
    entries.value = {}


@solara.component
def Choose(policy: Policy | None):
    """Region, package (or an uploaded file) and baseline."""
    regions = _regions()
    solara.Select("region", value=region.value, values=list(regions), on_value=choose_region,
                  classes=["choose-region"])
    solara.Select("package", value=package.value, values=list(_packages(region.value)),
                  on_value=choose_package, classes=["choose-package"])
    solara.FileDrop(label="…or drop a package file (.toml) here: it is checked as `sim check` "
                    "checks it", on_file=on_upload, lazy=False)
    if upload_error.value:
        solara.Error(upload_error.value)
    if uploaded.value is not None:
        solara.Success(f"uploaded: {uploaded.value.name} ({uploaded.value.path.name})")
        solara.Button("use the chosen package instead", text=True,
                      on_click=lambda: setattr(uploaded, "value", None))
    if policy is not None:
        default = session.default_baseline(policy)
        itself = policy.name + AS_IT_IS
        names = [itself] + [n for n in _packages(region.value) if n != policy.name]
        default_name = _load(str(default)).name if default else itself
        solara.Select("baseline", value=baseline.value or default_name, values=names,
                      on_value=lambda v: setattr(baseline, "value", v), classes=["choose-baseline"])
        solara.Text(f"default baseline: {default_name} "
                    + ("(the package's counterfactual)" if default else "(no counterfactual found)")
                    + f"; choose {itself} to see what your changes alone do",
                    style={"font-size": "12px"})


@solara.component
def Page():
    """The planner's page."""
    solara.Title("hukou-sim: a planner's app")
    policy = current_policy()
    base = baseline_policy(policy) if policy is not None else None
    with solara.Sidebar():
        solara.Markdown("## hukou-sim")
        Choose(policy)
    with solara.Column(style={"padding": "8px 16px", "max-width": "1400px"}):
        solara.Markdown("# A planner's app: change a package's levers and compare")
        if policy is None:
            solara.Warning(f"region {region.value} has no package in configs/policies")
            return
        solara.Markdown(
            f"**{policy.name}**: {policy.meta.title}. Region-wide changes: a value set here applies in "
            "every town and year, replacing the package's tier, town and dated values of that lever. "
            "Runs compare the variant with the baseline on the same households and draws.")
        running = run_task.pending

        def on_run(values: dict[str, Any], kind: str) -> None:
            saved.value = ""
            run_task(policy, base, values, kind)

        if running:
            solara.ProgressLinear(run_task.progress if run_task.progress is not None else True)
            solara.Text(status.value, classes=["run-status"])
        if run_task.error:
            solara.Error(f"the run failed: {run_task.exception}")
        with solara.Columns([2, 3]):
            with solara.Column():
                LeverForm(policy, entries.value, lambda e: setattr(entries, "value", e), on_run,
                          running=running)
            with solara.Column():
                if run_task.finished and run_task.value is not None:
                    summary, variant_path, command, original, values = run_task.value
                    ResultsView(summary)
                    SaveBox(summary, variant_path, command, original, values)
                elif not running:
                    solara.Info("Change levers on the left (or none), then Run. The coarse run "
                                "takes a few seconds; Confirm runs at the package's default scale "
                                "with posterior draws (minutes).")


@solara.component
def SaveBox(summary: session.Summary, variant_path: Path, command: str, original: Policy,
            values: dict[str, Any]):
    """Where the variant and the run are saved, and how to reproduce or report them."""
    def save() -> None:
        saved.value = str(session.save_variant(original, values, session.RESULTS / "variants"))

    with solara.Card(classes=["saved"]):
        solara.Markdown(
            f"Run folder: `{summary.folder}` (open it with `sim report {summary.folder}` or the "
            f"notebook).  \nVariant (checked as `sim check` checks it): `{variant_path}`  \n"
            f"Reproduce from the command line: `{command}`")
        solara.Button("Save the variant to results/app/variants/", on_click=save, classes=["save-variant"])
        if saved.value:
            solara.Success(f"saved: {saved.value} (it extends {original.path.name}; `sim check` passes)")
