"""Every Lambda function, declared once: how it runs, what starts it and what it may touch.

One ``FunctionSpec`` drives the function (entry point, memory, timeout, layers), its IAM policy
(``permissions.py``), its environment (only the settings it reads), its API routes, its trigger
and, through the core's workflow, its state-machine task. Adding a Lambda is one line here plus
its module in ``milkmobs.lambdas``; a test fails for a module without a line.

Timeouts and memory are the seed's where it gives them. Where it gives no memory we use 256 MB,
not Lambda's 128 MB default: the seed's functions were Node.js; ours import pydantic and numpy,
and Lambda allocates CPU in proportion to memory, so 128 MB would double cold starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from milkmobs.core.limits import LIMITS


class FunctionGroup(StrEnum):
    API = "api"
    ADMIN = "admin"
    PROCESSING = "processing"
    ANALYSIS = "analysis"
    BATCH = "batch"


class Data(Enum):
    """Access to one DynamoDB table."""

    NONE = 0
    READ = 1
    WRITE = 2  # read and write


class Search(Enum):
    """Access to the OpenSearch vector index (``permissions.search_grants`` says what each includes)."""

    # Each level also inspects the index (HEAD, its mapping, one vector, count): the adapter checks
    # the mapping once per container. No level includes another's verbs: the recorded-calls test
    # holds every granted statement to a call that used it.
    NONE = 0
    READ = 1  # k-NN search (the only level that queries)
    WRITE = 2  # index one video's document
    REWRITE = 3  # rewrite the index rows in _bulk requests (the batch re-clustering)
    DELETE = 4  # remove a video's document
    ADMIN = 5  # create the index (the custom resource): no documents


class Model(StrEnum):
    """What a function asks of Bedrock."""

    PEGASUS = "pegasus"  # InvokeModel on Pegasus
    MARENGO = "marengo"  # async video embeddings: Start/Get/ListAsyncInvoke on Marengo
    MARENGO_TEXT = "marengo-text"  # InvokeModel on Marengo (text embeddings of a search query)


class Metrics(Enum):
    NONE = 0
    # Model usage as embedded-metric-format log lines (Powertools EMF): CloudWatch extracts the
    # metrics from the function's own log group, so no cloudwatch:PutMetricData is granted.
    EMF = 1
    READ = 2  # GetMetricData/ListMetrics (usage statistics)


class Executions(Enum):
    """Access to the analysis state machine."""

    NONE = 0
    START = 1
    READ = 2  # one execution and its history
    START_AND_READ = 3  # the sweep: start a lost execution, read an ended one


class Trigger(StrEnum):
    API = "api"  # API Gateway routes (``routes``)
    WORKFLOW = "workflow"  # a task of the analysis state machine
    UPLOAD = "upload"  # S3 ObjectCreated on the video keys
    INVOKED = "invoked"  # asynchronous invocation by another function
    SCHEDULE = "schedule"  # the hourly EventBridge rule
    SWEEP = "sweep"  # the stuck-video EventBridge rule (every 15 minutes)
    EXECUTION_END = "execution-end"  # executions ending TIMED_OUT/ABORTED (EventBridge)
    CUSTOM_RESOURCE = "custom-resource"  # CloudFormation, through the CDK Provider framework


# Object keys of the media bucket (docs/data-model.md).
VIDEO_KEYS = "vid_*.mp4"
THUMBNAIL_KEYS = "thumbnails/*"
EMBEDDING_KEYS = "embeddings/*"


@dataclass(frozen=True)
class Objects:
    """S3 actions on the media objects whose keys match ``keys`` (``""``: the bucket itself)."""

    keys: str
    actions: tuple[str, ...]


# head_object needs ListBucket to tell "missing" (404) from "forbidden" (403).
LIST_BUCKET = Objects("", ("s3:ListBucket",))
# the pinned version of an upload is read by its id (GetObjectVersion)
READ_VIDEOS = Objects(VIDEO_KEYS, ("s3:GetObject", "s3:GetObjectVersion"))


@dataclass(frozen=True)
class Route:
    """One method on one path of the REST API; ``function`` is filled from the declaring spec."""

    method: str
    path: str
    admin: bool = False
    required_query: tuple[str, ...] = ()
    body_model: str | None = None  # a key of the API construct's request models
    function: str = ""


@dataclass(frozen=True)
class FunctionSpec:
    """One function: its seed name (``create-upload``), how it runs and everything it may touch."""

    name: str
    group: FunctionGroup
    timeout_seconds: int
    memory_mb: int = 256
    triggers: tuple[Trigger, ...] = (Trigger.API,)
    routes: tuple[Route, ...] = ()
    videos: Data = Data.NONE
    mobs: Data = Data.NONE
    objects: tuple[Objects, ...] = ()
    models: tuple[Model, ...] = ()
    search: Search = Search.NONE
    metrics: Metrics = Metrics.NONE
    events: bool = False  # PutEvents on the milkmobs bus
    executions: Executions = Executions.NONE
    invokes: tuple[str, ...] = ()  # functions it invokes asynchronously
    media: bool = False  # reads the video file itself: the media layer (ffmpeg), room in /tmp
    embeddings: bool = False  # reads stored embeddings as vectors of the embedding model's dimension
    views: bool = False  # answers with videos as the API shows them: their media URLs
    lists: bool = False  # pages through videos: list cursors are signed with the cursor key

    @property
    def module(self) -> str:
        """``milkmobs.lambdas.create_upload``: the entry module, named after the seed function."""
        return "milkmobs.lambdas." + self.name.replace("-", "_")

    @property
    def handler(self) -> str:
        return self.module + ".handler"

    @property
    def deletes_media(self) -> bool:
        """Deletes objects CloudFront may have cached (their paths are invalidated)."""
        return any(a.startswith("s3:DeleteObject") and o.keys for o in self.objects for a in o.actions)

    @property
    def api_routes(self) -> tuple[Route, ...]:
        return tuple(Route(r.method, r.path, r.admin, r.required_query, r.body_model, self.name) for r in self.routes)


G, D, S = FunctionGroup, Data, Search
_PIPELINE = {"triggers": (Trigger.WORKFLOW,), "videos": D.WRITE}

FUNCTION_SPECS: tuple[FunctionSpec, ...] = (
    # API (CloudFront serves every media URL, so no read function touches the bucket)
    FunctionSpec(
        "create-upload",
        G.API,
        10,
        views=True,
        videos=D.WRITE,
        routes=(Route("POST", "/videos/submit", body_model="SubmitRequest"),),
        objects=(Objects(VIDEO_KEYS, ("s3:PutObject",)),),
    ),  # presigned POSTs are signed by this role
    FunctionSpec(
        "list-user-videos",
        G.API,
        10,
        lists=True,
        views=True,
        videos=D.READ,
        mobs=D.READ,
        routes=(Route("GET", "/videos/user", required_query=("userId",)),),
    ),
    FunctionSpec(
        "get-video-detail",
        G.API,
        10,
        views=True,
        videos=D.READ,
        mobs=D.READ,
        routes=(Route("GET", "/videos/{videoId}"),),
    ),
    FunctionSpec(
        "get-feed",
        G.API,
        10,
        lists=True,
        views=True,
        videos=D.READ,
        mobs=D.READ,
        routes=(Route("GET", "/videos/feed"), Route("GET", "/feed")),
    ),
    FunctionSpec("list-mobs", G.API, 10, mobs=D.READ, routes=(Route("GET", "/mobs"),)),
    FunctionSpec(
        "get-mob",
        G.API,
        10,
        lists=True,
        views=True,
        videos=D.READ,
        mobs=D.READ,
        routes=(Route("GET", "/mobs/{mobId}"),),
    ),
    FunctionSpec(
        "search-similar",
        G.API,
        30,
        views=True,
        memory_mb=512,
        videos=D.READ,
        mobs=D.READ,
        search=S.READ,
        models=(Model.MARENGO_TEXT,),
        metrics=Metrics.EMF,
        routes=(
            Route("GET", "/search/similar", required_query=("videoId",)),
            Route("GET", "/search/text", required_query=("q",)),
        ),
    ),
    FunctionSpec(
        "get-execution-history",
        G.API,
        30,
        videos=D.READ,
        executions=Executions.READ,
        routes=(Route("GET", "/execution-history", required_query=("videoId",)),),
    ),
    # admin
    FunctionSpec(
        "admin-list-videos",
        G.ADMIN,
        10,
        lists=True,
        views=True,
        videos=D.READ,
        mobs=D.READ,
        routes=(Route("GET", "/admin/videos", admin=True),),
    ),
    FunctionSpec(
        "admin-delete-video",
        G.ADMIN,
        30,
        videos=D.WRITE,
        mobs=D.WRITE,
        search=S.DELETE,
        routes=(Route("DELETE", "/admin/videos/{videoId}", admin=True),),
        # every version and delete marker of the video and its thumbnail
        objects=(
            Objects(VIDEO_KEYS, ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject")),
            Objects(THUMBNAIL_KEYS, ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject")),
            Objects("", ("s3:ListBucket", "s3:ListBucketVersions")),
        ),
    ),
    FunctionSpec(
        "admin-get-stats", G.ADMIN, 30, videos=D.READ, mobs=D.READ, routes=(Route("GET", "/admin/stats", admin=True),)
    ),
    FunctionSpec(
        "admin-get-usage-stats",
        G.ADMIN,
        30,
        metrics=Metrics.READ,
        routes=(Route("GET", "/admin/usage-stats", admin=True),),
    ),
    # Not in the seed: the mobs map (PCA of up to a few thousand embeddings; numpy wants the memory).
    FunctionSpec(
        "admin-get-mob-map",
        G.ADMIN,
        30,
        memory_mb=1024,
        videos=D.READ,
        mobs=D.READ,
        lists=True,
        embeddings=True,
        routes=(Route("GET", "/admin/mobs/map", admin=True),),
    ),
    # Not in the seed: the batch re-clustering on demand (same work and grants as cluster-embeddings).
    FunctionSpec(
        "admin-recluster",
        G.ADMIN,
        300,
        memory_mb=512,
        videos=D.WRITE,
        mobs=D.WRITE,
        search=S.REWRITE,
        lists=True,
        routes=(Route("POST", "/admin/recluster", admin=True),),
    ),
    # processing
    # An oversized upload is failed here, which takes the video out of the index (DELETE); a later
    # version of an accepted upload (the form posted again) is removed (DeleteObjectVersion).
    FunctionSpec(
        "start-analysis",
        G.PROCESSING,
        30,
        triggers=(Trigger.UPLOAD,),
        videos=D.WRITE,
        search=S.DELETE,
        executions=Executions.START,
        objects=(READ_VIDEOS, LIST_BUCKET, Objects(VIDEO_KEYS, ("s3:DeleteObjectVersion",))),
        invokes=("generate-thumbnail",),
    ),
    FunctionSpec(
        "generate-thumbnail",
        G.PROCESSING,
        300,
        memory_mb=1024,
        triggers=(Trigger.INVOKED,),
        media=True,
        videos=D.WRITE,
        objects=(READ_VIDEOS, LIST_BUCKET, Objects(THUMBNAIL_KEYS, ("s3:PutObject", "s3:GetObject"))),
    ),
    # the analysis pipeline (Step Functions tasks)
    # Our core probes the uploaded file here (duration, resolution, audio) with ffmpeg, reading the
    # whole object: it gets generate-thumbnail's memory and the media layer (the seed's step only flagged).
    FunctionSpec(
        "analysis-mark-processing",
        G.ANALYSIS,
        30,
        memory_mb=1024,
        media=True,
        **_PIPELINE,
        objects=(READ_VIDEOS, LIST_BUCKET),
    ),
    # Bedrock reads the video, and writes Marengo's job output, with the caller's permissions.
    # The model steps' timeouts come from the limits table (the longest accepted video).
    FunctionSpec(
        "analysis-pegasus",
        G.ANALYSIS,
        LIMITS.model_task_seconds,
        **_PIPELINE,
        objects=(READ_VIDEOS, LIST_BUCKET),
        models=(Model.PEGASUS,),
        metrics=Metrics.EMF,
    ),
    FunctionSpec(
        "analysis-marengo",
        G.ANALYSIS,
        LIMITS.model_task_seconds,
        **_PIPELINE,
        models=(Model.MARENGO,),
        metrics=Metrics.EMF,
        objects=(READ_VIDEOS, LIST_BUCKET, Objects(EMBEDDING_KEYS, ("s3:PutObject", "s3:GetObject"))),
    ),
    FunctionSpec("analysis-write-result", G.ANALYSIS, 30, **_PIPELINE, search=S.WRITE),
    # validate-video also serves POST /validate: a video that now passes moves into a mob (or out of one)
    FunctionSpec(
        "validate-video",
        G.ANALYSIS,
        30,
        videos=D.WRITE,
        mobs=D.WRITE,
        search=S.WRITE,
        triggers=(Trigger.WORKFLOW, Trigger.API),
        routes=(Route("POST", "/validate", body_model="ValidateRequest"), Route("GET", "/validate/{videoId}")),
    ),
    FunctionSpec("cluster-video", G.ANALYSIS, 30, **_PIPELINE, mobs=D.WRITE, search=S.WRITE),
    # Not in the seed: the task of the workflow's catch (and of executions that time out), which
    # records the failure and takes the video out of the index and its mob.
    FunctionSpec(
        "analysis-mark-failed",
        G.ANALYSIS,
        30,
        videos=D.WRITE,
        mobs=D.WRITE,
        search=S.DELETE,
        triggers=(Trigger.WORKFLOW, Trigger.EXECUTION_END),
    ),
    # batch
    FunctionSpec(
        "cluster-embeddings",
        G.BATCH,
        300,
        memory_mb=512,
        triggers=(Trigger.SCHEDULE,),
        videos=D.WRITE,
        mobs=D.WRITE,
        search=S.REWRITE,
        lists=True,
    ),
    # 900 s, not the seed's 120: it retries 403/5xx while a new domain comes up (its policy takes minutes).
    FunctionSpec("create-opensearch-index", G.BATCH, 900, triggers=(Trigger.CUSTOM_RESOURCE,), search=S.ADMIN),
    # Not in the seed: re-drives uploaded videos that never got an execution (failing those whose
    # execution ended without them, which takes them out of the index) and expires abandoned
    # pending uploads, so no video stays stuck when an event was lost.
    FunctionSpec(
        "sweep-stuck-videos",
        G.BATCH,
        300,
        triggers=(Trigger.SWEEP,),
        videos=D.WRITE,
        search=S.DELETE,
        executions=Executions.START_AND_READ,
        lists=True,
    ),
)

SPECS_BY_NAME: dict[str, FunctionSpec] = {spec.name: spec for spec in FUNCTION_SPECS}


def with_trigger(trigger: Trigger) -> list[FunctionSpec]:
    """The functions that ``trigger`` starts, in declaration order."""
    return [spec for spec in FUNCTION_SPECS if trigger in spec.triggers]


def the_one(trigger: Trigger) -> FunctionSpec:
    """The single function ``trigger`` starts (ValueError if the declarations name none or several)."""
    found = with_trigger(trigger)
    if len(found) != 1:
        raise ValueError(f"exactly one function must have trigger {trigger.value}, found {[s.name for s in found]}")
    return found[0]


def using_model(model: Model) -> FunctionSpec:
    (spec,) = [s for s in FUNCTION_SPECS if model in s.models]
    return spec
