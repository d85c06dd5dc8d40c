"""Packaging for anylabel. `pip install -e ".[dev]"` sets up a developer checkout."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "anylabel" / "__init__.py").read_text()).group(1)

INSTALL_REQUIRES = [
    "PyQt5>=5.15",
    "numpy>=1.24",
    "opencv-python>=4.8",
    "shapely>=2.0",
    "pyyaml>=6.0",
    "pillow>=10.0",
    "platformdirs>=3.0",
    "tqdm>=4.60",
    "natsort>=8.0",
    "pycocotools>=2.0.7",
    "torch>=2.5.1",
    "torchvision>=0.20.1",
    # private upstream API is used (tests/backends/test_upstream_pins.py checks it): a new release is
    # allowed only after that test passed on it
    "segment-anything>=1.0,<1.1",
    "sam2>=1.1.0,<1.2",
    "ultralytics>=8.3",
    "onnx>=1.15",
    "onnxruntime-gpu>=1.17; platform_system != 'Darwin'",
    "onnxruntime>=1.17; platform_system == 'Darwin'",
    "open-clip-torch>=2.24",
    # issue 17: the upstream packages of the model families MobileSAM (module mobile_sam) and SAM-HQ
    "mobilesam-mirror>=1.0",
    "segment-anything-hq>=0.3",
]

#: what `import labelme._label_file` needs besides our own requirements (labelme is installed with --no-deps)
LABELME_LOADER_DEPS = ["imgviz>=2.0", "loguru>=0.7", "tifffile>=2024.1.30"]

EXTRAS = {
    "ray": ["ray[data]>=2.9"],
    "hf": ["transformers>=4.40"],
    # SAM 3 (issue 17) is optional: sam3 0.1.4 pins numpy<2.4, which would downgrade numpy for everything else
    "sam3": ["sam3>=0.1.4"],
    "dev": [
        "pytest>=7.4",
        "pytest-qt>=4.2",
        "pytest-timeout>=2.2",
        "hypothesis>=6.90",
        "ray[data]>=2.9",
        "transformers>=4.40",
        "psutil>=5.9",
        # The labelme interop tests read our files with labelme's own loader. labelme itself is NOT here: its
        # dependency osam requires the CPU `onnxruntime`, whose module shadows onnxruntime-gpu's (no CUDA
        # provider any more). Install it with `pip install --no-deps "labelme>=6.0,<7"` (as .ci/run does);
        # these are the packages its loader (labelme._label_file) imports beyond ours.
        *LABELME_LOADER_DEPS,
        # tests/core/test_lint.py: pyflakes errors, pycodestyle at 120 columns, sorted imports (ruff.toml)
        "ruff>=0.6,<1",
        # tests/gui/xinput.py: the real-display edit test sends real X key presses and mouse drags (XTEST)
        "python-xlib>=0.33",
    ],
}

setup(
    name="anylabel",
    version=VERSION,
    description="Desktop annotation with SAM, SAM2 and FastSAM: clicks to polygons, video tracking, dataset export",
    long_description=(HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    # the top-level resources/ folder installs as the package anylabel.resources
    packages=find_packages(include=["anylabel", "anylabel.*"]) + ["anylabel.resources"],
    package_dir={"anylabel.resources": "resources"},
    package_data={"anylabel": ["models.yaml"], "anylabel.resources": ["icons/*", "samples/*"]},
    include_package_data=True,
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["anylabel=anylabel.__main__:main"]},
    license="GPL-3.0-or-later",
)
