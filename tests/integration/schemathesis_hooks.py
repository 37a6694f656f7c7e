"""Hooks of the schemathesis run in tests/integration/test_api_schemathesis.py (named by SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    # GET /api/v1/files/{id} answers 307 with a signed link: that answer is what the document describes, not the
    # file behind the link (its own route, outside the document). Following redirects would check the file instead.
    kwargs["allow_redirects"] = False
