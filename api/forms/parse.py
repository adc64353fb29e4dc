"""Reading a form model from a request, empty values included.

FastAPI parses `Annotated[Model, Form()]` (and documents every field in the OpenAPI) but drops a parameter
sent empty, so `TargetWorkers=` looks absent. For Twilio an empty value can mean something: no worker
matches, or "clear this callback URL". A model lists those fields in `clearable`; `form_of(Model)` parses the
form as FastAPI does and gives each clearable field sent empty back as ""."""

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Form, Request

from api.forms.fields import FormModel

F = TypeVar("F", bound=FormModel)


def form_of(model: type[F]) -> Callable[..., Awaitable[F]]:
    """The dependency for `model`: use as `Annotated[Model, Depends(form_of(Model))]`."""
    aliases = {name: model.model_fields[name].alias or name for name in model.clearable}

    async def parse(request: Request, form: Any) -> F:
        sent = await request.form()
        blank = {name: "" for name, alias in aliases.items() if sent.get(alias) == "" and not form.given(name)}
        return form.model_copy(update=blank) if blank else form

    # FastAPI reads the signature: `form` is the form model it parses and documents.
    parse.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
            inspect.Parameter("form", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Annotated[model, Form()]),
        ]
    )
    return parse
