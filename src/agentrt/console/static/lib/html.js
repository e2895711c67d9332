// htm bound to Preact, and a tiny memo() (Preact core has none; preact/compat is not vendored).
import { h, Component } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);

/** A component that re-renders only when one of its props changed (shallow compare). */
export function memo(render) {
  class Memo extends Component {
    shouldComponentUpdate(next) {
      for (const key in next) if (next[key] !== this.props[key]) return true;
      for (const key in this.props) if (!(key in next)) return true;
      return false;
    }

    render(props) {
      return render(props);
    }
  }
  Memo.displayName = `memo(${render.name || 'component'})`;
  return Memo;
}
