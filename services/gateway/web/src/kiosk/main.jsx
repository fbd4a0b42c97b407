import { render } from "preact";

render(<p>Kiosk</p>, document.getElementById("app"));
