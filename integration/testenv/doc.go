// Package testenv starts the real servers the tests talk to (MinIO now;
// fake-gcs-server and Azurite later) on 127.0.0.1, installing them first when
// they are missing, and stops them when the test binary ends.
//
// Tools are installed once per machine into ToolsDir() (BYOB_TOOLS_DIR, else
// the user cache dir's byob/tools), shared by every clone, guarded by a file
// lock so parallel test binaries install once.
//
// A test package that uses a server calls Main from its TestMain, so the
// servers it started are stopped after its tests:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// When a server cannot be started the test fails if CI=true, and is skipped
// with the reason otherwise (a developer without the tools still runs the
// unit tests). Nothing here listens on or talks to anything but 127.0.0.1.
//
// Isolate is called by Main: it points HOME, XDG_* and the AWS config files
// at an empty temporary folder and turns off cloud metadata probes, so no
// developer's real configuration or credentials leak into a test and no
// credential chain sends a packet off the machine.
package testenv
