"""Every route the server answers, declared once; everything else that knows a path reads it here.

    Starlette's routes           app.py           (served_routes)
    the predict fast path        fastpath.py      (fast_paths)
    open without the API key     guards.py        (KEYLESS_PATHS, KEYLESS_PREFIXES)
    never refused under load     guards.py, connections.py (OPEN_PATHS)
    the error form of a path     error_renderer.py (form_for)
    the OpenAPI document's paths openapi.py       (documented_paths; the operations stay there)
    the start-up banner          cli/serve.py     (banner_urls, root_routes, model_routes)
    a model's endpoints          GET /models      (endpoints)

A path may be a template: ``{name}`` is a model's name. How a route serves (``Serves``):
SERVER, one Starlette route for the path as written (a template's handler looks the model up);
ROOT, the literal path, served by the first model that offers the route; EACH_MODEL, one route
per model that offers it, its name in the path (so an unknown model's path is no route at all).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dockml.config import Settings
from dockml.http.error_renderer import ErrorForm, Handler
from dockml.service import ModelService, Registry

ModelEndpoint = Callable[[ModelService], Handler]
"""Makes the endpoint of a route for one model (a ROOT or EACH_MODEL route)."""

ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class Family(enum.Enum):
    """Who defines the route, and so the form of its errors."""

    DOCKML = "dockml"  # dockml's own API: problem documents
    V2 = "v2"  # the Open Inference Protocol v2: {"error": ...}
    MLFLOW = "mlflow"  # MLflow's scoring server (SageMaker calls it too): {"error_code", "message"}
    PLATFORM = "platform"  # a cloud platform's chosen paths, answered as the MLflow routes they stand for
    DOCS = "docs"  # pages for people: Swagger UI, the OpenAPI document, the playground
    HEALTH = "health"  # dockml's liveness and readiness checks


ERROR_FORMS = {
    Family.DOCKML: ErrorForm.PROBLEM,
    Family.V2: ErrorForm.V2,
    Family.MLFLOW: ErrorForm.MLFLOW,
    Family.PLATFORM: ErrorForm.MLFLOW,
    Family.DOCS: ErrorForm.PROBLEM,
    Family.HEALTH: ErrorForm.PROBLEM,
}


class Serves(enum.Enum):
    SERVER = "server"
    ROOT = "root"
    EACH_MODEL = "each model"


class Documented(enum.Enum):
    NO = "no"
    AS_WRITTEN = "as written"  # the path as written, a template included
    EACH_MODEL = "each model"  # once per model, its name in the path


@dataclass(frozen=True, slots=True)
class RouteSpec:
    path: str
    name: str
    """The endpoint that answers it (paths may share one); a model's routes are named so in
    GET /models/NAME."""
    family: Family
    methods: tuple[str, ...] = ("GET",)
    """The methods it answers; () for any."""
    serves: Serves = Serves.SERVER
    auth: bool = True
    """The API key applies (when the server has one)."""
    admission: bool = True
    """Counted against --max-in-flight, refused after a long wait for its turn, and timed out."""
    fast: bool = False
    """Answered by the predict fast path (fastpath.py), before Starlette."""
    documented: Documented = Documented.AS_WRITTEN
    mount: bool = False
    """A folder of files: every path under it."""
    images_only: bool = False
    """Offered only by models that take an image."""
    every_method: bool = False
    """Every method reaches the endpoint, which answers a wrong one in its protocol's form."""
    banner: str = ""
    """Its label in the start-up banner, if it is listed there."""
    alias_of: str = ""
    """A platform's route: the path that answers it."""

    @property
    def error_form(self) -> ErrorForm:
        return ERROR_FORMS[self.family]

    def offered_by(self, service: ModelService) -> bool:
        return not self.images_only or service.signature.image is not None

    def for_model(self, service: ModelService) -> str:
        return self.path.replace("{name}", service.name)


_D, _V2, _ML, _DOCS, _HEALTH = Family.DOCKML, Family.V2, Family.MLFLOW, Family.DOCS, Family.HEALTH
_ROOT, _EACH = Serves.ROOT, Serves.EACH_MODEL
_UNDOCUMENTED = Documented.NO

ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("/predict", "predict", _D, ("GET", "POST"), _ROOT, fast=True),
    RouteSpec("/predict_file", "predict_file", _D, ("POST",), _ROOT),
    RouteSpec("/predict_image", "predict_image", _D, ("POST",), _ROOT, images_only=True),
    RouteSpec("/models/{name}/predict", "predict", _D, ("GET", "POST"), _EACH, fast=True),
    RouteSpec("/models/{name}/predict_file", "predict_file", _D, ("POST",), _EACH),
    RouteSpec("/models/{name}/predict_image", "predict_image", _D, ("POST",), _EACH, images_only=True),
    # Health checks (auth=False, admission=False): a load balancer's probes need no key and are
    # never refused or timed out, however busy the server is.
    RouteSpec("/health/live", "live", _HEALTH, banner="health", auth=False, admission=False),
    RouteSpec("/health/ready", "ready", _HEALTH, banner="health", auth=False, admission=False),
    RouteSpec("/metrics", "metrics", _D, banner="metrics"),
    RouteSpec("/models", "models", _D),
    RouteSpec("/models/{name}", "model", _D),
    RouteSpec("/openapi.json", "openapi", _DOCS, documented=_UNDOCUMENTED, banner="OpenAPI"),
    RouteSpec("/apidocs", "apidocs", _DOCS, documented=_UNDOCUMENTED, banner="Swagger UI"),
    RouteSpec("/apidocs/", "apidocs", _DOCS, documented=_UNDOCUMENTED),
    RouteSpec("/apidocs/init.js", "apidocs_script", _DOCS, documented=_UNDOCUMENTED),
    RouteSpec("/apidocs/static", "apidocs_files", _DOCS, documented=_UNDOCUMENTED, mount=True),
    RouteSpec("/docs", "docs", _DOCS, documented=_UNDOCUMENTED),
    # The playground's page and files hold no data, and a browser cannot send a key to open a
    # page: they load without it so the page can ask for the key, which every call then sends.
    RouteSpec("/", "playground", _DOCS, documented=_UNDOCUMENTED, auth=False, banner="Playground"),
    RouteSpec("/playground", "playground_files", _DOCS, documented=_UNDOCUMENTED, mount=True, auth=False),
    RouteSpec("/v2", "v2_server", _V2, every_method=True),
    RouteSpec("/v2/", "v2_server", _V2, every_method=True, documented=_UNDOCUMENTED),
    RouteSpec("/v2/health/live", "v2_live", _V2, every_method=True, auth=False, admission=False),
    RouteSpec("/v2/health/ready", "v2_ready", _V2, every_method=True, auth=False, admission=False),
    RouteSpec("/v2/models/{name}", "v2_metadata", _V2, every_method=True, documented=Documented.EACH_MODEL),
    RouteSpec("/v2/models/{name}/ready", "v2_model_ready", _V2, every_method=True, documented=Documented.EACH_MODEL),
    RouteSpec(
        "/v2/models/{name}/infer", "v2_infer", _V2, ("POST",), every_method=True, documented=Documented.EACH_MODEL
    ),
    RouteSpec("/v2/models/{name}/versions/{version}", "v2_metadata", _V2, every_method=True, documented=_UNDOCUMENTED),
    RouteSpec(
        "/v2/models/{name}/versions/{version}/ready",
        "v2_model_ready",
        _V2,
        every_method=True,
        documented=_UNDOCUMENTED,
    ),
    RouteSpec(
        "/v2/models/{name}/versions/{version}/infer",
        "v2_infer",
        _V2,
        ("POST",),
        every_method=True,
        documented=_UNDOCUMENTED,
    ),
    # Last of the V2 routes: any other path under /v2 gets the protocol's 404.
    RouteSpec("/v2/{rest:path}", "v2_no_route", _V2, (), every_method=True, documented=_UNDOCUMENTED),
    RouteSpec("/ping", "ping", _ML, auth=False, admission=False),
    RouteSpec("/health", "ping", _ML, auth=False, admission=False),
    RouteSpec("/version", "version", _ML, auth=False, admission=False),
    # Names a model: behind the key, as /models is.
    RouteSpec("/models/{name}/ping", "model_ping", _ML, documented=Documented.EACH_MODEL),
    RouteSpec("/invocations", "invocations", _ML, ("POST",), _ROOT),
    RouteSpec("/models/{name}/invocations", "invocations", _ML, ("POST",), _EACH),
)
"""In Starlette's matching order (the first that matches wins)."""

PLATFORM_HEALTH = RouteSpec("", "ping", Family.PLATFORM, ("GET", "HEAD"), alias_of="/ping", auth=False, admission=False)
PLATFORM_PREDICT = RouteSpec("", "invocations", Family.PLATFORM, ("POST",), alias_of="/invocations")
"""A platform's own paths (Vertex AI's AIP_HEALTH_ROUTE and AIP_PREDICT_ROUTE), chosen at start:
platform_routes.py answers them as /ping and /invocations, before every other layer."""


def platform_path(setting: str) -> str:
    return setting if setting.startswith("/") else f"/{setting}"


# Derived sets, read per request by the edge and the connections (exact paths, and folders).
OPEN_PATHS = frozenset(route.path for route in ROUTES if not route.admission and not route.mount)
KEYLESS_PATHS = frozenset(route.path for route in ROUTES if not route.auth and not route.mount)
KEYLESS_PREFIXES = tuple(f"{route.path}/" for route in ROUTES if not route.auth and route.mount)


@dataclass(frozen=True, slots=True)
class Served:
    """One route as this server answers it: the path, and the model it serves (None: any, or none)."""

    route: RouteSpec
    path: str
    service: ModelService | None


def first_offering(route: RouteSpec, registry: Registry) -> ModelService | None:
    """The model a root route (``/predict``) serves: the first, in the order given, that offers it."""
    return next((service for service in registry if route.offered_by(service)), None)


def root_model(registry: Registry, name: str) -> ModelService | None:
    """The model the root route ``name`` (``predict``, ``invocations``) serves."""
    root = next(route for route in ROUTES if route.serves is Serves.ROOT and route.name == name)
    return first_offering(root, registry)


def _expand(route: RouteSpec, registry: Registry) -> Iterator[Served]:
    if route.serves is Serves.ROOT:
        first = first_offering(route, registry)
        if first is not None:
            yield Served(route, route.path, first)
    elif route.serves is Serves.EACH_MODEL:
        for service in registry:
            if route.offered_by(service):
                yield Served(route, route.for_model(service), service)
    else:
        yield Served(route, route.path, None)


def served_routes(registry: Registry) -> list[Served]:
    """Every route, expanded for the models served, in the table's order."""
    return [served for route in ROUTES for served in _expand(route, registry)]


def fast_paths(registry: Registry) -> dict[str, tuple[ModelService, tuple[str, ...]]]:
    """The fast path's paths (``/predict``, ``/models/iris/predict``), each with its model and methods."""
    return {
        s.path: (s.service, s.route.methods) for s in served_routes(registry) if s.route.fast and s.service is not None
    }


def documented_paths(registry: Registry, settings: Settings) -> list[Served]:
    """The paths the OpenAPI document lists, each with its model where it has one."""
    paths: list[Served] = []
    for route in ROUTES:
        if route.documented is Documented.EACH_MODEL:
            paths += [Served(route, route.for_model(service), service) for service in registry]
        elif route.documented is Documented.AS_WRITTEN:
            paths += list(_expand(route, registry))
    if settings.health_route:
        paths.append(Served(PLATFORM_HEALTH, platform_path(settings.health_route), None))
    default = first_offering(PLATFORM_PREDICT, registry)
    if settings.predict_route and default is not None:
        paths.append(Served(PLATFORM_PREDICT, platform_path(settings.predict_route), default))
    return paths


def endpoints(service: ModelService) -> dict[str, str]:
    """A model's own dockml routes, by name: what GET /models/NAME lists."""
    return {
        route.name: route.for_model(service)
        for route in ROUTES
        if route.family is Family.DOCKML and route.serves is Serves.EACH_MODEL and route.offered_by(service)
    }


def model_routes(service: ModelService, at_root: bool) -> list[tuple[str, str]]:
    """The banner's lines for a model: (methods, path) of its dockml routes, the root ones where
    it is the only model."""
    serves = Serves.ROOT if at_root else Serves.EACH_MODEL
    return [
        ("|".join(route.methods), route.for_model(service))
        for route in ROUTES
        if route.family is Family.DOCKML and route.serves is serves and route.offered_by(service)
    ]


def root_routes() -> list[RouteSpec]:
    """dockml's root routes, each served by the first model that offers it."""
    return [route for route in ROUTES if route.family is Family.DOCKML and route.serves is Serves.ROOT]


def banner_urls() -> dict[str, list[str]]:
    """The start-up banner's server paths by label (the models' routes follow them)."""
    urls: dict[str, list[str]] = {}
    for route in ROUTES:
        if route.banner:
            urls.setdefault(route.banner, []).append(route.path)
    return urls


def _pattern(route: RouteSpec) -> str:
    path = re.escape(route.path)
    path = re.sub(r"\\\{\w+:path\\\}", ".*", path)
    path = re.sub(r"\\\{\w+\\\}", "[^/]+", path)
    return f"{path}(/.*)?" if route.mount else path


_FAMILY_PATTERNS = [(re.compile(_pattern(route)), route.family) for route in ROUTES]


def family_of(path: str) -> Family | None:
    """The family of the route ``path`` falls under, served or not (an unknown model's
    /models/NAME/invocations is MLflow's); None for a path under no route."""
    return next((family for pattern, family in _FAMILY_PATTERNS if pattern.fullmatch(path)), None)


def form_for(path: str) -> ErrorForm:
    family = family_of(path)
    return ErrorForm.PROBLEM if family is None else ERROR_FORMS[family]
