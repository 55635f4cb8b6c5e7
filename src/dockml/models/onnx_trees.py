"""scikit-learn's trees send a missing value (NaN) down a branch each node learned, or (when the
node saw none in training) down its larger child; skl2onnx leaves ONNX's tree ensembles sending
every missing value the same way. Writing each node's branch into the graph
(``nodes_missing_value_tracks_true``) makes the compiled model answer NaN as scikit-learn does;
the parity check, with rows that hold missing values, confirms it model by model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dockml.models.sklearn_structure import final_estimator

_TRACKS = "nodes_missing_value_tracks_true"


def _trees(estimator: Any) -> list[Any]:
    """The fitted trees of a tree or tree ensemble, in the order skl2onnx numbers them."""
    if hasattr(estimator, "tree_"):
        return [estimator.tree_]
    members = getattr(estimator, "estimators_", None)
    if members is None:
        return []
    flat = members.ravel().tolist() if isinstance(members, np.ndarray) else list(members)
    trees = [getattr(member, "tree_", None) for member in flat]
    return trees if all(tree is not None for tree in trees) else []


def track_missing_values(model: Any, estimator: Any) -> None:
    """Set each tree node's missing-value branch in ``model`` (an ONNX ModelProto) from ``estimator``."""
    from onnx import helper

    trees = _trees(final_estimator(estimator))
    if not trees:
        return
    for node in model.graph.node:
        if not node.op_type.startswith("TreeEnsemble"):
            continue
        attributes = {attribute.name: attribute for attribute in node.attribute}
        if "nodes_treeids" not in attributes or "nodes_nodeids" not in attributes:
            continue  # a newer operator version with another layout: leave it as converted
        pairs = zip(attributes["nodes_treeids"].ints, attributes["nodes_nodeids"].ints, strict=False)
        try:
            tracks = [int(trees[tree].missing_go_to_left[node_id]) for tree, node_id in pairs]
        except IndexError:
            continue  # numbered otherwise than expected: the parity check decides
        if _TRACKS in attributes:
            node.attribute.remove(attributes[_TRACKS])
        node.attribute.append(helper.make_attribute(_TRACKS, tracks))
