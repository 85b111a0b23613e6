"""The SAM template read as data: CloudFormation's short-form tags and the pseudo parameters the
template tests and the IAM simulation (iam_simulate.py) give a stand-in stack."""
import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"

PSEUDO = {"AWS::Region": "eu-central-1", "AWS::StackName": "b1force", "AWS::AccountId": "123456789012",
          "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}


class CfnLoader(yaml.SafeLoader):
    """PyYAML with CloudFormation's short-form tags, read into their long form ({"Fn::Sub": ...})."""


def _intrinsic(tag):
    key = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return construct


for _tag in ("Ref", "Condition", "Sub", "GetAtt", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split",
             "FindInMap", "ImportValue", "Base64", "Cidr", "GetAZs"):
    CfnLoader.add_constructor(f"!{_tag}", _intrinsic(_tag))


def load(path=TEMPLATE):
    return yaml.load(pathlib.Path(path).read_text(), Loader=CfnLoader)


CONDITION_FUNCTIONS = ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition")


def render(overrides=None, stack_name="b1force"):
    """The template as CloudFormation would create it: SAM's own translator (aws-sam-translator, as
    `sam deploy` uses) expands the serverless resources, then parameters (defaults plus `overrides`),
    pseudo parameters, conditions, `!If`, `!Sub` over parameters and `AWS::NoValue` are resolved.
    References to resources stay as they are ({"Ref": ...}, {"Fn::GetAtt": ...}, `${Resource}`)."""
    import copy
    import os
    import re

    from samtranslator.parser import parser
    from samtranslator.translator.translator import Translator

    sam = copy.deepcopy(load())
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://b1force-artifacts/code.zip"  # what `sam package` puts there
    os.environ.setdefault("AWS_DEFAULT_REGION", PSEUDO["AWS::Region"])
    cfn = Translator(managed_policy_map={}, sam_parser=parser.Parser()).translate(sam_template=sam, parameter_values={})
    values = {name: str(p.get("Default", "")) for name, p in cfn.get("Parameters", {}).items()}
    values.update({k: str(v) for k, v in (overrides or {}).items()})
    pseudo = dict(PSEUDO, **{"AWS::StackName": stack_name})
    no_value = object()

    def condition(name):
        return truth(cfn["Conditions"][name])

    def truth(node):
        (fn, args), = node.items()
        if fn == "Fn::Equals":
            return resolve(args[0]) == resolve(args[1])
        if fn == "Fn::Not":
            return not truth(args[0])
        if fn == "Fn::And":
            return all(truth(a) for a in args)
        if fn == "Fn::Or":
            return any(truth(a) for a in args)
        if fn == "Condition":
            return condition(args)
        raise ValueError(f"not a condition: {node}")

    def substitute(text):
        def one(match):
            name = match.group(1)
            return pseudo.get(name) or values.get(name) or match.group(0)
        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def resolve(node):
        if isinstance(node, list):
            return [v for v in (resolve(v) for v in node) if v is not no_value]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, args), = node.items()
            if fn == "Ref" and args == "AWS::NoValue":
                return no_value
            if fn == "Ref" and args in pseudo:
                return pseudo[args]
            if fn == "Ref" and args in values:
                return values[args]
            if fn == "Fn::If":
                return resolve(args[1] if condition(args[0]) else args[2])
            if fn == "Fn::Sub" and isinstance(args, str):
                return substitute(args)
            if fn == "Fn::Join":
                separator, items = args[0], resolve(args[1])
                if isinstance(items, str):  # a CommaDelimitedList parameter
                    items = items.split(",") if items else []
                return separator.join(items) if all(isinstance(i, str) for i in items) else node
            if fn in CONDITION_FUNCTIONS[:-1]:
                return truth(node)
        return {k: v for k, v in ((k, resolve(v)) for k, v in node.items()) if v is not no_value}

    resources = {}
    for logical, resource in cfn["Resources"].items():
        if "Condition" in resource and not condition(resource["Condition"]):
            continue
        resources[logical] = resolve(resource)
    outputs = {name: resolve(output) for name, output in cfn.get("Outputs", {}).items()
               if "Condition" not in output or condition(output["Condition"])}
    return {"Resources": resources, "Outputs": outputs}
