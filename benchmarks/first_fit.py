"""First fits: what a user's single ``fit`` costs, beside the warm figures of the tables.

For each arraynet backend, three ``fit`` calls of a new model of the shape's architecture
on host (NumPy) data, as a user makes them, each timed whole (moving the data, training)
with the number of compilations JAX logged meanwhile (its ``backend_compile_duration``
events; 0 elsewhere); the model is built outside the clock:

- ``first``: the process's first fit of this architecture on the backend, on the shape's
  data, before the timed repetitions (on JAX the compilations happen here);
- ``cold``: after them, a new model on new data (three quarters of the rows, whole
  batches), repeated with a new model and new arrays each time: a fold of a
  cross-validation, a trial of a search;
- ``again``: the same call on that model once more.

The backends take turns (rotating each round) after a rest of ``timing.SETTLE_S``, the
garbage collector off during a fit; ``cold`` and ``again`` are medians over the repeats.
"""

from __future__ import annotations

import dataclasses
import gc
import statistics
import time

from . import shapes, timing

_COMPILES = [0]
_LISTENING = []


def compilations() -> int:
    """JAX's compilations so far in this process (0 while JAX is not imported here)."""
    if not _LISTENING:
        try:
            import jax
        except ImportError:
            return 0
        jax.monitoring.register_event_duration_secs_listener(_count)
        _LISTENING.append(True)
    return _COMPILES[0]


def _count(event, duration, **kwargs):
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES[0] += 1


def _timed(fit) -> tuple[float, int]:
    """``(seconds, compilations)`` of ``fit()``, after a rest, the garbage collector off."""
    gc.collect()
    time.sleep(timing.SETTLE_S)
    before = compilations()
    gc.disable()
    try:
        start = time.perf_counter()
        fit()
        seconds = time.perf_counter() - start
    finally:
        gc.enable()
    return seconds, compilations() - before


def cold_shape(shape):
    """The shape of the new data: three quarters of the rows, in whole batches."""
    rows = max(shape.batch, shape.rows * 3 // 4 // shape.batch * shape.batch)
    return dataclasses.replace(shape, rows=rows)


def _new_model(impl, shape, X, Y, weights, device):
    """A new implementation like ``impl`` (a new model), its backend selected and its
    weights set: outside the clock."""
    import arraynet as an

    new = type(impl)(impl.backend, shape, X, Y, weights, device)
    an.use(new.backend, **new.use_kwargs)  # as reset() does; run.main restores numpy
    new.model.set_weights(weights)
    return new


def first(impls, shape, X, Y, weights, device) -> dict:
    """Each arraynet implementation's ``first`` fit (before the timed repetitions)."""
    found = {}
    for impl in arraynet_impls(impls):
        new = _new_model(impl, shape, X, Y, weights, device)
        seconds, count = _timed(lambda new=new: new.fit(X, Y))
        found[impl.name] = {"first_s": seconds, "first_compiles": count}
    return found


def cold(impls, shape, repeats, device, found) -> dict:
    """Add each arraynet implementation's ``cold`` and ``again`` fits to ``found``."""
    shape = cold_shape(shape)
    chosen = arraynet_impls(impls)
    for name in (impl.name for impl in chosen):
        found[name].update(cold_s=[], cold_compiles=[], again_s=[], again_compiles=[])
    rows = None
    for round_ in range(repeats):
        shift = round_ % max(len(chosen), 1)
        for impl in chosen[shift:] + chosen[:shift]:
            X, Y, weights = shapes.make_data(shape)  # new host arrays every time
            rows = X.shape[0]  # the streetlights keep their 4 rows
            new = _new_model(impl, shape, X, Y, weights, device)
            row = found[impl.name]
            for kind in ("cold", "again"):
                seconds, count = _timed(lambda new=new, X=X, Y=Y: new.fit(X, Y))
                row[f"{kind}_s"].append(seconds)
                row[f"{kind}_compiles"].append(count)
    for row in found.values():
        row["cold_median_s"] = statistics.median(row["cold_s"]) if row["cold_s"] else None
        row["again_median_s"] = statistics.median(row["again_s"]) if row["again_s"] else None
    return {"cold_rows": rows, "epochs": shape.epochs, "backends": found}


def arraynet_impls(impls) -> list:
    return [impl for impl in impls if impl.name.startswith("arraynet ")]


def table(shape, measured: dict) -> str:
    """The first fits under the shape's table."""
    lines = [
        f"first fits: fit({measured['epochs']} epochs) of a new model on host data, timed "
        f"whole: the process's first on {shape.rows} rows; on new data of "
        f"{measured['cold_rows']} rows and that call again (medians); JAX's compilations",
        f"{'implementation':<28}{'first s':>10}{'new model s':>13}{'again s':>10}"
        f"{'compilations first/new/again':>31}",
    ]
    for name, row in measured["backends"].items():
        counts = (row["first_compiles"], max(row["cold_compiles"]), max(row["again_compiles"]))
        lines.append(
            f"{name:<28}{row['first_s']:>10.3g}{row['cold_median_s']:>13.3g}"
            f"{row['again_median_s']:>10.3g}{'/'.join(map(str, counts)):>31}"
        )
    return "\n".join(lines)


def targets(measured: dict) -> list[dict]:
    """On (b): arraynet jax's new-model fit within 2x arraynet numpy's time, and its fit
    again at least 1.5x faster than numpy's (facts of the run, not assertions)."""
    rows = measured.get("b", {}).get("backends", {})
    jax, numpy = rows.get("arraynet jax"), rows.get("arraynet numpy")
    if not (jax and numpy and jax["cold_s"] and numpy["cold_s"]):
        return []
    new = jax["cold_median_s"] / numpy["cold_median_s"]
    again = numpy["again_median_s"] / jax["again_median_s"]
    return [
        _check("(b) first fit of a new model on new data: arraynet jax / numpy time", new, 2, True),
        _check("(b) that fit again: arraynet numpy / jax time", again, 1.5),
    ]


def _check(label: str, value: float, bound: float, at_most: bool = False) -> dict:
    holds = value <= bound if at_most else value >= bound
    text = f"{label}: {value:.3g}x (target {'<=' if at_most else '>='} {bound:g}x) -> "
    return {
        "target": label,
        "value": value,
        "bound": bound,
        "holds": holds,
        "text": text + ("holds" if holds else "does not hold"),
    }
