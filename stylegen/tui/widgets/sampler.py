"""The sampler and its parameters, built from what the sampler declares (`protocols.Param`).

Every change is checked with the same rules as the command line (`sampler_params`), and a
newly chosen sampler starts from its own defaults with the values the user set (`sampler_choice`);
a valid one is announced with `SamplerPanel.Changed`, an invalid one is marked and explained
in place and announced as nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

DEFAULT_SAMPLER = "temperature"
DEFAULT_PARAMS: dict[str, Any] = {"temperature": 0.8}


def _range(p: Any) -> str:
    if p.min is None and p.max is None:
        return ""
    low = "-∞" if p.min is None else f"{p.min:g}"
    high = "∞" if p.max is None else f"{p.max:g}"
    return f" [{low}–{high}]"


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class ParamInput(Input):
    """The input of one declared parameter."""

    def __init__(self, param: Any, value: Any) -> None:
        kind: Literal["integer", "number", "text"] = (
            "integer" if param.type is int else "number" if param.type is float else "text"
        )
        super().__init__(_text(value), type=kind, compact=True, classes="param-input", tooltip=param.help)
        self.param = param


class SamplerPanel(Vertical):
    """Choose a sampler; set its declared parameters."""

    class Changed(Message):
        """A valid sampler and parameters were chosen."""

        def __init__(self, panel: SamplerPanel, sampler: str, params: dict[str, Any]) -> None:
            super().__init__()
            self.panel = panel
            self.sampler = sampler
            self.params = params

        @property
        def control(self) -> SamplerPanel:
            return self.panel

    def __init__(
        self,
        sampler: str = DEFAULT_SAMPLER,
        params: Mapping[str, Any] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="sampler-panel")
        from stylegen import plugin_registry, sampler_params

        self._registry = plugin_registry()
        self.sampler = sampler
        self.params = sampler_params(self._registry.get("sampler", sampler), params or {})
        # What the user set, carried to another sampler that declares it (the rule of
        # `stylegen.sampler_choice`: a sampler starts from its own defaults, the values given
        # set its parameters of the same name); the default temperature 0.8 is not carried.
        self.given: dict[str, Any] = {k: v for k, v in (params or {}).items() if (k, v) not in DEFAULT_PARAMS.items()}

    @property
    def names(self) -> list[str]:
        return self._registry.names("sampler")

    def compose(self) -> ComposeResult:
        yield Label("Sampler", classes="field-label")
        yield Select(
            [(name, name) for name in self.names],
            value=self.sampler,
            allow_blank=False,
            compact=True,
            id="sampler-name",
        )
        yield Vertical(*self._param_widgets(), id="sampler-params")
        yield Static(self._description(), classes="hint", id="sampler-help", markup=False)

    def _obj(self) -> Any:
        return self._registry.get("sampler", self.sampler)

    def _description(self) -> str:
        return self._registry.entry("sampler", self.sampler).description

    def _param_widgets(self) -> list[Any]:
        widgets: list[Any] = []
        for p in self._obj().params:
            widgets.append(Label(f"{p.name}{_range(p)}", classes="field-label", markup=False))
            widgets.append(ParamInput(p, self.params.get(p.name, p.default)))
        if not widgets:
            widgets.append(Static("no parameters", classes="hint"))
        return widgets

    @on(Select.Changed, "#sampler-name")
    async def _sampler_chosen(self, event: Select.Changed) -> None:
        event.stop()
        name = str(event.value)
        if name == self.sampler:
            return
        from stylegen import sampler_params

        # Keep the values the user set that the new sampler shares (temperature, say).
        obj = self._registry.get("sampler", name)
        shared = {p.name: self.given[p.name] for p in obj.params if p.name in self.given}
        self.sampler, self.params = name, sampler_params(obj, shared)
        box = self.query_one("#sampler-params", Vertical)
        await box.remove_children()
        await box.mount_all(self._param_widgets())
        self.query_one("#sampler-help", Static).update(self._description())
        self.post_message(self.Changed(self, self.sampler, dict(self.params)))

    @on(Input.Changed, ".param-input")
    def _param_changed(self, event: Input.Changed) -> None:
        event.stop()
        from stylegen import sampler_params
        from stylegen.errors import StylegenError

        field = event.input
        assert isinstance(field, ParamInput)
        help_text = self.query_one("#sampler-help", Static)
        if not event.value.strip():
            field.add_class("-invalid")
            help_text.update(f"{field.param.name}: a value is needed")
            return
        try:
            values = sampler_params(self._obj(), {**self.params, field.param.name: event.value.strip()})
        except StylegenError as e:
            field.add_class("-invalid")
            help_text.update(str(e))
            return
        field.remove_class("-invalid")
        help_text.update(field.param.help)
        name = field.param.name
        if name in self.given or values[name] != self.params.get(name):  # typed by the user, not the initial value
            self.given[name] = values[name]
        if values != self.params:
            self.params = values
            self.post_message(self.Changed(self, self.sampler, dict(values)))

    def on_descendant_focus(self, event: Any) -> None:
        widget = getattr(event, "widget", None)
        if isinstance(widget, ParamInput) and not widget.has_class("-invalid"):
            self.query_one("#sampler-help", Static).update(widget.param.help)
