"""pytest-splunk-addon's test templates for TA-accuknox (runs only in the ``psa`` tool environment).

The plugin generates every test from the app's conf files and the requirement samples in
``samples/``: see ../README.md for the offline and live commands.
"""

from pytest_splunk_addon.standard_lib.addon_basic import Basic


class Test_App(Basic):
    """All of Basic's templates: field, tag, eventtype, CIM, requirement and index-time tests."""
