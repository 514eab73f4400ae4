"""Parse annotation XML (Pascal VOC, CVAT) without DTDs or entities.

Annotation files come from other people and other tools. An XML file with a ``<!DOCTYPE>``
can declare entities that read local files into the parsed text (XXE) or expand a few bytes
into gigabytes (the "billion laughs"). No labeling tool writes a DTD into its annotation
files, so any DTD is refused outright instead of being half-trusted.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from xml.parsers import expat

from ._common import FormatError


class _Refused(Exception):
    pass


def parse_xml(path: str | os.PathLike) -> ET.Element:
    """The root element of the XML file at ``path``; DTDs and entity declarations refused.

    The tree is built with :class:`xml.etree.ElementTree.TreeBuilder`, so callers use the
    usual ElementTree API. Namespaced names are spelled ``{uri}local`` as ElementTree does.

    Raises:
        FormatError: the file is not well-formed (with its line), or it declares a DTD or an
            entity; the message names the file and says what to do.

    Example:
        >>> root = parse_xml("raccoon/annotations/raccoon-1.xml")
        >>> root.findtext("filename")
        'raccoon-1.jpg'
    """
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    # Never read an external DTD or parameter entity, whatever the file says.
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_args):
        raise _Refused

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = lambda tag, attrs: builder.start(
        _name(tag), {_name(k): v for k, v in attrs.items()}
    )
    parser.EndElementHandler = lambda tag: builder.end(_name(tag))
    parser.CharacterDataHandler = builder.data
    try:
        with open(path, "rb") as f:
            parser.ParseFile(f)
    except _Refused:
        raise FormatError(
            path,
            "declares a DTD (<!DOCTYPE ...>) or entities; annotation files never need one and "
            "it can make a parser read other files or exhaust memory, so it is refused. "
            "Remove the <!DOCTYPE ...> block",
            parser.CurrentLineNumber,
        ) from None
    except expat.ExpatError as e:
        raise FormatError(
            path,
            f"not well-formed XML ({expat.ErrorString(e.code)}, column {e.offset + 1}); "
            "fix or remove the file",
            e.lineno,
        ) from None
    return builder.close()


def _name(raw: str) -> str:
    # expat gives "uri}local" for namespaced names; ElementTree spells them "{uri}local".
    return "{" + raw if "}" in raw else raw
