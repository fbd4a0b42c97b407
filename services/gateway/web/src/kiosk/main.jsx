import { render } from "preact";
import { App } from "./app.jsx";
import "./kiosk.css";

render(<App />, document.getElementById("app"));
