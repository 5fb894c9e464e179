# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stack's parallel start groups, computed from its services' dependencies (plugin_utils._service_graph)."""

from ansible_collections.quantops.runbooks.plugins.plugin_utils import _service_graph


def service_groups(services):
    """The services' names in their parallel groups, first to last. A cycle, an unknown dependency or a malformed
    entry raises GraphError (a ValueError, as the collection's other filters raise): Ansible fails the task with it."""
    try:
        return _service_graph.groups(services)
    except _service_graph.GraphError as e:
        raise _service_graph.GraphError("service_groups: %s" % e) from None


class FilterModule:
    def filters(self):
        return dict(service_groups=service_groups)
