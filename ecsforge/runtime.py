"""How ecsforge's entry points set up Python and jsii before aws_cdk is imported.

`prepare` runs jsii's kernel without its host process (jsii_kernel.py) and lifts the size limit
of typing's subscription caches. app.py also keeps the garbage collector off while modules load.
Each is measured in README ("Scale and speed"); none changes a template.
"""

from __future__ import annotations

import functools
import typing

from .jsii_kernel import use_direct_kernel


def prepare() -> None:
    """Call before anything imports aws_cdk (whose import starts jsii's kernel)."""
    use_direct_kernel()
    unbounded_typing_caches()


def typing_caches() -> list[tuple[typing.Any, functools._lru_cache_wrapper[typing.Any]]]:
    """typing's memo of subscriptions like `Optional[X]`: (closure cell, its LRU cache) pairs.

    typing wraps each `__getitem__` it memoizes in a function whose closure holds the cache and
    registers the cache's `cache_clear` in `typing._cleanups`; the cells are found from there."""
    caches = {id(clear.__self__) for clear in typing._cleanups if hasattr(clear, "__self__")}  # type: ignore[attr-defined]
    found: dict[int, tuple[typing.Any, functools._lru_cache_wrapper[typing.Any]]] = {}
    owners = [typing, *(value for value in vars(typing).values() if isinstance(value, type))]
    candidates = [value for owner in owners for value in vars(owner).values()]
    # Literal's memo sits on the special form itself, Generic's under a classmethod.
    candidates += [getattr(value, attribute, None) for value in candidates for attribute in ("_getitem", "__func__")]
    for function in candidates:
        for cell in getattr(function, "__closure__", None) or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if id(contents) in caches and isinstance(contents, functools._lru_cache_wrapper):
                found[id(cell)] = (cell, contents)  # a function inherited by a subclass is seen twice
    return list(found.values())


def unbounded_typing_caches() -> int:
    """Give typing's subscription caches no size limit; how many it changed.

    jsii's generated classes evaluate `typing.Optional[SomeType]` at run time: every struct
    property read is `typing.cast(typing.Optional[...], value)`, and jsii reads each property of
    each struct passed to aws-cdk-lib. typing memoizes such subscriptions in caches of 128
    entries, which the hundreds of types a synthesis uses overflow: at 200 services, 28 thousand
    misses, each building a new Union (and compiling a ForwardRef for a quoted type), 0.35 s.
    Unbounded, each distinct subscription is built once: about a thousand at 200 services.

    A Python whose typing is built differently is left as it is (returns 0);
    tests/test_runtime.py fails then, so an upgrade notices."""
    changed = 0
    for cell, cache in typing_caches():
        if cache.cache_parameters()["maxsize"] is None:
            continue
        unbounded = functools.lru_cache(maxsize=None, typed=cache.cache_parameters()["typed"])(cache.__wrapped__)
        cell.cell_contents = unbounded
        # typing._cleanups clears every cache (tests for reference leaks call it): keep that true.
        cleanups: list[typing.Any] = typing._cleanups  # type: ignore[attr-defined]
        cleanups[:] = [unbounded.cache_clear if getattr(c, "__self__", None) is cache else c for c in cleanups]
        changed += 1
    return changed
