"""Fitted estimators stored in the database, signed with the app's secret so only what we wrote is ever unpickled.

A stored model that no longer loads (another scikit-learn version, a changed secret) reads as None: the caller
scores with a baseline until the next scheduled refit replaces it.
"""
from __future__ import annotations

import logging
import pickle  # noqa: S403 - only ever loads bytes whose HMAC we made ourselves

from django.utils.crypto import constant_time_compare, salted_hmac

logger = logging.getLogger("personalize.predictions")
SALT = "personalize.predictions.model_store"
SIG_LEN = 64  # hex sha256
_loaded: dict[int, object] = {}  # fit pk -> estimator: one unpickle per worker and fit, not per scored profile
_KEEP = 16


def dump(model: object) -> bytes:
    blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    return salted_hmac(SALT, blob, algorithm="sha256").hexdigest().encode() + blob


def cached(key: int) -> object | None:
    """The estimator already loaded in this worker, without reading its bytes again."""
    return _loaded.get(key)


def load(data: bytes | memoryview | None, key: int | None = None) -> object | None:
    if key is not None and key in _loaded:
        return _loaded[key]
    if not data:
        return None
    data = bytes(data)
    sig, blob = data[:SIG_LEN], data[SIG_LEN:]
    if not constant_time_compare(sig, salted_hmac(SALT, blob, algorithm="sha256").hexdigest().encode()):
        logger.warning("stored model %s has a bad signature; ignored", key)
        return None
    try:
        model = pickle.loads(blob)  # noqa: S301 - signed above
    except Exception:  # a different library version cannot read it: score with a baseline until the next refit
        logger.exception("stored model %s does not load", key)
        return None
    if key is not None:
        if len(_loaded) >= _KEEP:
            _loaded.pop(next(iter(_loaded)))
        _loaded[key] = model
    return model
