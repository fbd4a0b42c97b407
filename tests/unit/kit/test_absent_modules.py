"""Optional modules missing from the environment are remembered as absent: importing one fails
at once (as it would anyway), an installed one is left alone."""

import sys

import pytest
from punchcard_kit.absent_modules import remember_absent_modules


@pytest.fixture
def clean_modules():
    saved = dict(sys.modules)
    yield
    sys.modules.clear()
    sys.modules.update(saved)


def test_a_missing_module_is_remembered_absent(clean_modules):
    name = "punchcard_no_such_module_xyz"
    assert remember_absent_modules((name,)) == [name]
    assert sys.modules[name] is None
    with pytest.raises(ImportError):
        __import__(name)


def test_an_installed_module_is_left_alone(clean_modules):
    sys.modules.pop("json", None)
    assert remember_absent_modules(("json",)) == []
    import json

    assert json.dumps([1]) == "[1]"


def test_httpcore_still_answers_asyncio(clean_modules):
    import asyncio

    from httpcore._synchronization import current_async_library

    remember_absent_modules()

    async def ask() -> str:
        return current_async_library()

    assert asyncio.run(ask()) == "asyncio"
