"""`dockml k8s`: Kubernetes manifests, a Helm chart or a KServe InferenceService for an image."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dockml.constants import (
    K8S_CPU,
    K8S_DRAIN_S,
    K8S_GRACE_S,
    K8S_MAX_REPLICAS,
    K8S_MEMORY,
    K8S_REPLICAS,
    K8S_SECRET_KEY,
    K8S_TARGET_CPU_PERCENT,
    K8S_TMP_SIZE,
    KILL_MARGIN_S,
    PORT,
)

DESCRIPTION = """\
Write what runs IMAGE (built by `dockml build`) on Kubernetes: a Deployment with probes on
/health/live and /health/ready, a termination grace period that fits dockml's graceful shutdown,
resource requests and limits and a restricted security context (non-root, read-only root
filesystem with an in-memory /tmp, no capabilities, seccomp RuntimeDefault); a Service; a
HorizontalPodAutoscaler; and a PodDisruptionBudget. Each pod runs one dockml worker per CPU of its
limit, so load is spread by adding pods. docs/kubernetes.md explains every setting.
"""

EPILOG = """\
examples:
  dockml k8s registry.example.org/rf-api:1.0 | kubectl apply -f -
  dockml k8s registry.example.org/rf-api:1.0 --cpu 2 --memory 1Gi --max-replicas 20 -o deploy/
  dockml k8s registry.example.org/rf-api:1.0 --api-key-secret rf-api-key --helm charts/rf-api
  dockml k8s registry.example.org/rf-api:1.0 --kserve | kubectl apply -f -
"""


def register(commands: Any) -> None:
    k8s = commands.add_parser(
        "k8s",
        help="write Kubernetes manifests (or a Helm chart, or a KServe InferenceService) for an image",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    k8s.add_argument("image", metavar="IMAGE", help="the image built by `dockml build`, as the cluster pulls it")
    k8s.add_argument("--name", help="name of the objects, a DNS label (default: the image's name, e.g. rf-api)")
    output = k8s.add_mutually_exclusive_group()
    output.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="DIR",
        help="write one file per object to DIR (default: one YAML stream on stdout)",
    )
    output.add_argument(
        "--helm",
        type=Path,
        metavar="DIR",
        help="write a Helm chart to DIR instead, with these options as its values.yaml",
    )
    k8s.add_argument(
        "--kserve",
        action="store_true",
        help="a KServe InferenceService (custom predictor, Open Inference Protocol) instead of a Deployment, "
        "Service, HorizontalPodAutoscaler and PodDisruptionBudget",
    )
    scaling = k8s.add_argument_group("scaling and resources")
    scaling.add_argument(
        "--replicas",
        type=int,
        default=K8S_REPLICAS,
        metavar="N",
        help="pods to run; with autoscaling, the fewest (default: %(default)s)",
    )
    scaling.add_argument(
        "--max-replicas",
        type=int,
        metavar="N",
        help=f"the most pods the autoscaler may run; equal to --replicas: no autoscaler (default: {K8S_MAX_REPLICAS})",
    )
    scaling.add_argument(
        "--target-cpu-percent",
        type=int,
        default=K8S_TARGET_CPU_PERCENT,
        metavar="P",
        help="add pods when their average CPU use passes P%% of the request (default: %(default)s)",
    )
    scaling.add_argument("--cpu", default=K8S_CPU, metavar="Q", help="CPU request per pod (default: %(default)s)")
    scaling.add_argument(
        "--cpu-limit", metavar="Q", help="CPU limit per pod; dockml runs one worker per CPU of it (default: --cpu)"
    )
    scaling.add_argument(
        "--memory", default=K8S_MEMORY, metavar="Q", help="memory request per pod (default: %(default)s)"
    )
    scaling.add_argument("--memory-limit", metavar="Q", help="memory limit per pod (default: --memory)")
    scaling.add_argument(
        "--workers", type=int, metavar="N", help="worker processes per pod (default: one per CPU of the limit)"
    )
    serving = k8s.add_argument_group("serving")
    serving.add_argument(
        "--port",
        type=int,
        default=PORT,
        help="the container's port, 1024 or more (default: %(default)s; the Service listens on 80)",
    )
    serving.add_argument(
        "--api-key-secret",
        metavar="NAME[:KEY]",
        help=f"a Secret holding the API key, passed to dockml as DOCKML_API_KEY (default key: {K8S_SECRET_KEY})",
    )
    serving.add_argument(
        "--drain-s",
        type=int,
        default=K8S_DRAIN_S,
        metavar="S",
        help="after SIGTERM, keep serving S seconds with /health/ready at 503 while endpoints drop the pod "
        "(default: %(default)s)",
    )
    serving.add_argument(
        "--grace-s",
        type=int,
        default=K8S_GRACE_S,
        metavar="S",
        help="exit at most S seconds after SIGTERM, drain included; the pod's termination grace period is "
        f"S + {KILL_MARGIN_S} (default: %(default)s)",
    )
    serving.add_argument(
        "--tmp-size", default=K8S_TMP_SIZE, metavar="Q", help="size of the in-memory /tmp (default: %(default)s)"
    )
    k8s.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dockml.k8s import k8s_spec, render_chart, render_manifests, write_files, yaml_stream

    name = args.name or args.image.rpartition("/")[2].partition("@")[0].partition(":")[0]
    spec = k8s_spec(
        name,
        args.image,
        replicas=args.replicas,
        max_replicas=args.max_replicas,
        target_cpu_percent=args.target_cpu_percent,
        cpu=args.cpu,
        cpu_limit=args.cpu_limit,
        memory=args.memory,
        memory_limit=args.memory_limit,
        port=args.port,
        api_key_secret=args.api_key_secret,
        drain_s=args.drain_s,
        grace_s=args.grace_s,
        workers=args.workers,
        tmp_size=args.tmp_size,
        kserve=args.kserve,
    )
    if args.helm is not None:
        write_files(args.helm, render_chart(spec))
        print(
            f"wrote the Helm chart to {args.helm}; install it with: helm install {spec.name} {args.helm}",
            file=sys.stderr,
        )
    elif args.output is not None:
        written = write_files(args.output, render_manifests(spec))
        print(
            f"wrote {', '.join(path.name for path in written)} to {args.output}; "
            f"apply them with: kubectl apply -f {args.output}",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(yaml_stream(render_manifests(spec)))
    return 0
