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
