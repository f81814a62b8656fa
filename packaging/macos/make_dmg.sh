#!/usr/bin/env bash
# Build Lightbox.app and a DMG on macOS. NOT RUN in this project's CI: see packaging/README.md.
#
#   bash packaging/macos/make_dmg.sh          (from anywhere; needs Xcode command-line tools)
#
# 1. makes resources/icons/lightbox.icns from the PNG icons (sips + iconutil);
# 2. runs PyInstaller on packaging/lightbox.spec, whose BUNDLE step writes dist/Lightbox.app with
#    its Info.plist document types (.dcm / application/dicom as org.nema.dicom; folders, for a
#    DICOMDIR file set);
# 3. packs dist/Lightbox-<version>.dmg with create-dmg when installed (brew install create-dmg),
#    otherwise with hdiutil (a plain compressed image with an /Applications link).
# Signing/notarisation are not done: set CODESIGN_IDENTITY to sign the .app (ad hoc otherwise).
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PY=${PYTHON:-"$ROOT/.venv/bin/python"}
[ "$(uname -s)" = Darwin ] || { echo "make_dmg.sh runs on macOS only" >&2; exit 1; }

VERSION=$("$PY" -c 'import app; print(app.__version__)')
ICONS="$ROOT/resources/icons"

# 1. the .icns (iconutil wants an .iconset folder of fixed names)
ICONSET=$(mktemp -d)/lightbox.iconset
mkdir -p "$ICONSET"
for size in 16 32 128 256 512; do
    sips -z "$size" "$size" "$ICONS/lightbox-512.png" --out "$ICONSET/icon_${size}x${size}.png" >/dev/null
    double=$((size * 2))
    sips -z "$double" "$double" "$ICONS/lightbox-512.png" --out "$ICONSET/icon_${size}x${size}@2x.png" >/dev/null
done
iconutil -c icns "$ICONSET" -o "$ICONS/lightbox.icns"

# 2. the application bundle
"$PY" -m PyInstaller --noconfirm --clean packaging/lightbox.spec
APP="$ROOT/dist/Lightbox.app"
[ -d "$APP" ] || { echo "PyInstaller did not write $APP" >&2; exit 1; }
codesign --force --deep --sign "${CODESIGN_IDENTITY:--}" "$APP"

# 3. the disk image
DMG="$ROOT/dist/Lightbox-$VERSION.dmg"
rm -f "$DMG"
if command -v create-dmg >/dev/null 2>&1; then
    create-dmg --volname "Lightbox $VERSION" --volicon "$ICONS/lightbox.icns" \
        --window-size 540 360 --icon-size 96 --icon "Lightbox.app" 140 170 \
        --app-drop-link 400 170 "$DMG" "$APP"
else
    STAGE=$(mktemp -d)
    cp -R "$APP" "$STAGE/"
    ln -s /Applications "$STAGE/Applications"
    hdiutil create -volname "Lightbox $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
fi
echo "wrote $DMG"
