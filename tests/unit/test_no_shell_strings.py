"""Nothing under plugins/ hands a shell a script built from input: argv lists, or a literal script with "$1" args."""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _literal_strings(tree):
    """Module-level names bound to a plain string literal (a fixed script)."""
    return {target.id for node in tree.body if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str) for target in node.targets if isinstance(target, ast.Name)}


def shell_problems(path):
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    fixed, problems = _literal_strings(tree), []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "shell" and not (
                isinstance(node.value, ast.Constant) and node.value.value is False):
            problems.append("%s:%d: shell=" % (path, node.value.lineno))
        if isinstance(node, (ast.List, ast.Tuple)):
            items = node.elts
            for at in range(len(items) - 2):
                if all(isinstance(items[at + k], ast.Constant) for k in (0, 1)) and \
                        (items[at].value, items[at + 1].value) == ("sh", "-c"):
                    script = items[at + 2]
                    if not (isinstance(script, ast.Constant) or isinstance(script, ast.Name) and script.id in fixed):
                        problems.append("%s:%d: sh -c with a script built at run time" % (path, script.lineno))
    return problems


def test_no_shell_script_is_built_from_input():
    problems = []
    for folder, _unused, files in os.walk(os.path.join(ROOT, "plugins")):
        problems += [p for name in files if name.endswith(".py") for p in shell_problems(os.path.join(folder, name))]
    assert problems == []


def test_the_check_sees_a_formatted_script(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('import subprocess\nname = input()\nsubprocess.run(["sh", "-c", "ip netns add %s" % name])\n'
                   'subprocess.run("ls " + name, shell=True)\n')
    assert len(shell_problems(str(bad))) == 2
