import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { registry } from './lib/registry.js';
import { StreamClient } from './lib/stream-client.js';
import './styles.css';

const client = new StreamClient();
registry.client = client;

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App client={client} />
  </StrictMode>,
);
