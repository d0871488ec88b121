"""Pre-installed workflows, returned as mistral-extra returns them: a
list of paths inside the package."""

from mistral_lib import utils


def get_preinstalled_workflows():
    return utils.get_file_list("resources/workflows",
                               package="globex_mistral")
