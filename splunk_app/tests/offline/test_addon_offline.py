"""pytest-splunk-addon's templates with the Splunk-side fixtures replaced by no-ops (no Splunk needed).

Only for the templates whose assertions read nothing from Splunk, selected by marker:

    -m "splunk_requirements_unit or splunk_searchtime_cim_fields_not_allowed_in_props"

``test_cim_fields_recommended`` (requirement samples declare every recommended CIM field)
and ``test_cim_fields_not_allowed_in_props`` (props.conf extracts no field that
CommonFields.json or the mapped datasets reserve) merely *request* ``splunk_setup`` /
``splunk_ingest_data``; with the plugin's fixtures they would wait for a Splunk server.
Every other template searches Splunk: run them from ../knowledge/ against a live instance.
"""

import pytest
from pytest_splunk_addon.standard_lib.addon_basic import Basic


class Test_App(Basic):
    """Basic's templates; the two fixtures below shadow the plugin's (class fixtures win)."""

    @pytest.fixture()
    def splunk_setup(self):
        """No Splunk to set up."""
        return None

    @pytest.fixture()
    def splunk_ingest_data(self):
        """Nothing to ingest: the offline templates read the app's conf files and samples only."""
        return None
