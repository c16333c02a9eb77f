"""The WearSense terminal UI (Textual). Screens arrive with the terminal-UI issue; this
package calls the companion services and holds no business logic."""
