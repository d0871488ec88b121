"""mistral.utils.ids: the one UUID check (upstream's is_uuid_like rule)."""

from __future__ import annotations

import uuid

import pytest

from mistral.utils import ids

U = '8a2c4f0e-1b3d-4e5f-8a9b-0c1d2e3f4a5b'


@pytest.mark.parametrize('value', [
    U, U.upper(), U.replace('-', ''), '{%s}' % U, 'urn:uuid:%s' % U,
])
def test_ids(value):
    assert ids.is_uuid(value)


def test_fresh_uuid4_is_an_id():
    # Not a parameter: a random id would differ between xdist workers.
    assert ids.is_uuid(str(uuid.uuid4()))


@pytest.mark.parametrize('value', [
    None, '', 'wf1', 'not-an-id', U[:-1], U + '0', U.replace('a', 'g'),
    ' %s' % U, U.replace('-', '_'), '%s_%s' % (U[:16], U[16:-1]), 5,
    uuid.UUID(U), b'x' * 16,
])
def test_not_ids(value):
    assert not ids.is_uuid(value)

