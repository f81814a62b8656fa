; Inno Setup script of Lightbox for Windows (Inno Setup 6). NOT RUN in this project's CI: see
; packaging/README.md. Build the one-folder application first, on Windows, from the repository root:
;   py -m pip install -e .[test]
;   pyinstaller --noconfirm --clean packaging\lightbox.spec      -> dist\lightbox\ (lightbox.exe, lightboxw.exe)
; then compile this script:
;   iscc /DAppVersion=0.1.0 packaging\windows\lightbox.iss        -> dist\installer\Lightbox-0.1.0-setup.exe
; (AppVersion = app.__version__: py -c "import app; print(app.__version__)")
; The icon is resources\icons\lightbox.ico (the spec uses it for both executables).

#define AppName "Lightbox"
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppExe "lightboxw.exe"

[Setup]
AppId={{6C1B5A2E-3F0A-4C55-9C8E-4A8C1F0B7D21}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Lightbox contributors
DefaultDirName={autopf}\Lightbox
DefaultGroupName=Lightbox
; Per-user install by default (no administrator needed); the dialog offers all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist\installer
OutputBaseFilename=Lightbox-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\lightbox.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2
SolidCompression=yes
ChangesAssociations=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"
Name: "assocdcm"; Description: "Open DICOM files (.dcm) with Lightbox"; GroupDescription: "File associations:"

[Files]
; The whole one-folder build: lightbox.exe (console: `lightbox server`, subcommands), lightboxw.exe (GUI), _internal\.
Source: "..\..\dist\lightbox\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Lightbox"; Filename: "{app}\{#AppExe}"
Name: "{group}\Uninstall Lightbox"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Lightbox"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; .dcm -> Lightbox.DicomFile (HKCU for a per-user install, HKLM for all users: HKA picks).
Root: HKA; Subkey: "Software\Classes\.dcm\OpenWithProgids"; ValueType: string; ValueName: "Lightbox.DicomFile"; ValueData: ""; Flags: uninsdeletevalue; Tasks: assocdcm
Root: HKA; Subkey: "Software\Classes\.dcm"; ValueType: string; ValueName: "Content Type"; ValueData: "application/dicom"; Flags: uninsdeletevalue; Tasks: assocdcm
Root: HKA; Subkey: "Software\Classes\Lightbox.DicomFile"; ValueType: string; ValueName: ""; ValueData: "DICOM image"; Flags: uninsdeletekey; Tasks: assocdcm
Root: HKA; Subkey: "Software\Classes\Lightbox.DicomFile\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"; Tasks: assocdcm
Root: HKA; Subkey: "Software\Classes\Lightbox.DicomFile\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Tasks: assocdcm
; A folder holding a DICOMDIR (a CD's file set): "Open with Lightbox" on folders.
Root: HKA; Subkey: "Software\Classes\Directory\shell\Lightbox"; ValueType: string; ValueName: ""; ValueData: "Open with Lightbox"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Directory\shell\Lightbox"; ValueType: string; ValueName: "Icon"; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\Directory\shell\Lightbox\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".dcm"; ValueData: ""; Flags: uninsdeletekey

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,Lightbox}"; Flags: nowait postinstall skipifsilent
