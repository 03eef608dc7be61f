"""Dashboard figures draw under the pages' Content Security Policy (no inline styles)."""

from matplotlib import pyplot as plt

from analytics import figures


def test_svg_has_no_inline_style_and_keeps_colours_as_attributes():
    with plt.rc_context(figures.STYLE):  # text as text, as the dashboard draws it
        fig, ax = plt.subplots()
        ax.plot([1, 2], [1, 2], color="#0b4f8a")
        ax.text(1, 1, "HR", style="italic")
        svg = figures._svg(fig)
    assert ' style="' not in svg and "<style" not in svg
    assert 'stroke="#0b4f8a"' in svg
    assert 'fill="#ffffff"' in svg  # the white background, black when the style was refused
    assert 'font-style="italic"' in svg
    assert svg.startswith('<svg stroke-linejoin="round" stroke-linecap="butt"')


def test_presentation_attribute_values_are_escaped():
    svg = figures.csp_safe_svg("<svg><text style=\"font-family: 'A'<b>\"/></svg>")
    assert 'font-family="&#x27;A&#x27;&lt;b&gt;"' in svg
