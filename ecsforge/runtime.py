"""How ecsforge's entry points set up Python and jsii before aws_cdk is imported.

`prepare` runs jsii's kernel without its host process (jsii_kernel.py) and lifts the size limit
of typing's subscription caches; `loading_modules` keeps the garbage collector out of the way
while modules load. Each is measured in README ("Scale and speed"); none changes a template.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import typing
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from .jsii_kernel import use_direct_kernel

if TYPE_CHECKING:
    Cache = functools._lru_cache_wrapper[Any]


# The context app.py gives its App, under what cdk.json and `-c` set. aws-cdk-lib captures a
# stack trace in node for every CloudFormation element unless told not to (about 0.35 s at 200
# services), and in a Python app they name only aws-cdk-lib's own files (README, "Scale and
# speed"); `cdk --debug` records them again. Not in cdk.json: there the CDK CLI warns about
# every key that starts with aws:, at every synthesis.
APP_CONTEXT: dict[str, Any] = {"aws:cdk:disable-creation-stack-traces": True}


class Prepared(NamedTuple):
    direct_kernel: bool  # False if jsii's own host runs the kernel (jsii_kernel.py says when)
    unbounded_typing_caches: int


def prepare() -> Prepared:
    """Call before anything imports aws_cdk (whose import starts jsii's kernel)."""
    return Prepared(use_direct_kernel(), unbounded_typing_caches())


@contextlib.contextmanager
def loading_modules() -> Iterator[None]:
    """No garbage collection while the block loads modules, which then are frozen.

    Loading aws_cdk, cdk-nag and ecsforge allocates some 270 thousand objects that live to the
    end: the collections it triggers walk them again and again, about 0.3 s at 200 services.
    Frozen, later full collections skip them. About 3 thousand objects of garbage (under 1 MB)
    are frozen with them, which is cheaper than the 0.13 s a collection takes to find them
    (tests/test_runtime.py measures both). The collector's state is restored afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


class TypingCache(NamedTuple):
    cache: Cache
    replace: Callable[[Cache], None]


def typing_caches() -> list[TypingCache]:
    """typing's memo of subscriptions like `Optional[X]`, one LRU cache per memoized function,
    each with the way to put another cache in its place."""
    registry: dict[Callable[..., Any], Cache] | None = getattr(typing, "_caches", None)
    if registry is not None:  # Python 3.12 and later: typing looks each cache up there
        return [
            TypingCache(cache, functools.partial(registry.__setitem__, function))
            for function, cache in registry.items()
        ]
    return _closure_caches()


def _closure_caches() -> list[TypingCache]:
    """Python 3.11: each memoized `__getitem__` holds its cache in a closure cell, and typing
    registers the cache's `cache_clear` in `typing._cleanups`; the cells are found from there."""
    registered = {id(clear.__self__) for clear in typing._cleanups if hasattr(clear, "__self__")}  # type: ignore[attr-defined]
    owners = [typing, *(value for value in vars(typing).values() if isinstance(value, type))]
    candidates = [value for owner in owners for value in vars(owner).values()]
    # Literal's memo sits on the special form itself, Generic's under a classmethod.
    candidates += [getattr(value, attribute, None) for value in candidates for attribute in ("_getitem", "__func__")]
    found: dict[int, TypingCache] = {}
    for function in candidates:
        for cell in getattr(function, "__closure__", None) or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if id(contents) in registered and isinstance(contents, functools._lru_cache_wrapper):
                # A function inherited by a subclass is seen twice: keyed by its cell.
                found[id(cell)] = TypingCache(contents, functools.partial(setattr, cell, "cell_contents"))
    return list(found.values())


def unbounded_typing_caches() -> int:
    """Give typing's subscription caches no size limit; how many it changed.

    jsii's generated classes evaluate `typing.Optional[SomeType]` at run time: every struct
    property read is `typing.cast(typing.Optional[...], value)`, and jsii reads each property of
    each struct passed to aws-cdk-lib. typing memoizes such subscriptions in caches of 128
    entries, which the hundreds of types a synthesis uses overflow: at 200 services, 28 thousand
    misses, each building a new Union (and compiling a ForwardRef for a quoted type), 0.35 s.
    Unbounded, each distinct subscription is built once: about a thousand at 200 services.

    typing_extensions keeps caches of its own, which stay as they are. A Python whose typing
    keeps its caches some other way is left alone (returns 0), and tests/test_runtime.py fails."""
    # typing._cleanups clears every cache (tests for reference leaks call it): keep that true.
    cleanups: list[Any] = typing._cleanups  # type: ignore[attr-defined]
    changed = 0
    for cache, replace in typing_caches():
        parameters = cache.cache_parameters()
        if parameters["maxsize"] is None:
            continue
        unbounded = functools.lru_cache(maxsize=None, typed=parameters["typed"])(cache.__wrapped__)
        replace(unbounded)
        cleanups[:] = [unbounded.cache_clear if getattr(c, "__self__", None) is cache else c for c in cleanups]
        changed += 1
    return changed
