"""Looking into networks: size tables, graph drawings, the backprop trace and pictures of what
units learn. Everything here reads models and graphs built by the rest of chainrule; nothing in
the engine, the ops or nn imports it."""

from __future__ import annotations

from chainrule.inspect.size import (
    LayerSize, compare_layer_sizes, conv_layer_size, fc_layer_size, lecture_200x200_example,
    locally_connected_layer_size, pooling_layer_size,
)
from chainrule.inspect.summary import COLUMNS, DEFAULT_COLUMNS, Summary, summary
from chainrule.inspect.graph import Graph, draw_graph, record_modules
from chainrule.inspect.trace import Trace, trace
from chainrule.inspect._image import read_png, write_png
from chainrule.inspect.features import (
    Maximized, TopActivations, filters_image, first_layer, gaussian_blur, jitter, l2_penalty,
    layer_weights, maximize, maximized_image, plot_filters, plot_maximized,
    plot_top_activations, top_activations, top_activations_image, total_variation,
)
from chainrule.inspect.plots import (
    confusion_image, confusion_matrix, decision_regions_image, hidden_responses,
    hidden_units_image, history_image, plot_confusion, plot_decision_regions,
    plot_hidden_units, plot_history, read_history,
)
from chainrule.inspect.receptive_field import ReceptiveField, receptive_field, receptive_fields
